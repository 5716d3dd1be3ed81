"""A campaign to a small sample Albo over all five channels (issue 8 §6).

Five members, each reachable on one channel only, so a campaign that names all five in order
of preference (PEC, e-mail, SMS, fax, registered mail) uses every one. The Albo is imported
with the same row parser as `pecora albo import` (the CSV is left in the data dir), the
campaign created and started with the store's use-cases as `pecora campaign create/send` do,
and the daemon's campaign runner, outbox and report receiver do the rest: PEC through the
sandbox providers (delivered = avvenuta consegna), e-mail to a local SMTP sink, SMS, fax and
registered mail to the local fake providers, whose delivery reports come back signed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any, cast

from daemon.demo.stage import USER, Stage
from daemon.demo.steps import NotReached, Step, step, until
from handlers.messaging.albo_rows import parse_row
from store import albo, campaigns
from store.campaign_reports import counts
from store.clock import utcnow
from store.models_messaging import CampaignState

MEMBER_PEC = "anna.bianchi@pec.sandbox.test"
ALBO_CSV = f"""member_id,name,pec,email,mobile,fax,street,cap,city,province,titolo
A001,Anna Bianchi,{MEMBER_PEC},,,,,,,,Avv.
A002,Bruno Verdi,,bruno.verdi@mail.sandbox.test,,,,,,,Dott.
A003,Carla Neri,,,+39 333 1234567,,,,,,Ing.
A004,Dario Gialli,,,,06 1234567,,,,,Arch.
A005,Elena Rossi,,,,,Via Appia 12,00179,Roma,RM,Geom.
"""
CHANNELS = ("pec", "email", "sms", "fax", "registered-mail")
#: What each channel's delivery must end as, and how it is said.
EXPECTED = {
    "pec": ("delivered", "PEC via the sandbox: avvenuta consegna"),
    "email": ("accepted", "e-mail accepted by the local SMTP server"),
    "sms": ("delivered", "SMS delivered (fake provider's DLR)"),
    "fax": ("delivered", "fax delivered (fake provider's webhook)"),
    "registered-mail": ("delivered", "registered mail delivered, return receipt signed"),
}
# The smallest well-formed PDF: fax and registered mail send the campaign's PDF.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


async def _create(stage: Stage) -> int:
    path = Path(stage.settings.daemon.data_dir) / "albo-demo.csv"
    await asyncio.to_thread(path.write_text, ALBO_CSV, encoding="utf-8")
    sha = await stage.archive.put(PDF)
    async with stage.sessions() as s, s.begin():
        for row in csv.DictReader(io.StringIO(ALBO_CSV)):
            # MemberData is frozen; the store's protocol only reads it (declared settable).
            member = cast(albo.MemberFields, parse_row(row))
            await albo.upsert(s, member, now=utcnow())
        cid = await campaigns.create(s, campaigns.NewCampaign(
            name="demo: assemblea annuale", subject="Convocazione assemblea annuale",
            body="Gentile {{ titolo }} {{ name }}, è convocata l'assemblea annuale degli iscritti.",
            channels=CHANNELS, segment={}, sender=USER, attachment_sha256=sha,
            attachment_name="convocazione.pdf"), now=utcnow())
        await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
    return cid


async def run(stage: Stage, *, patience: float) -> list[Step]:
    """Create and start the campaign; one row per channel once each delivery has settled."""
    cid = await _create(stage)

    async def probe() -> dict[str, dict[str, int]]:
        async with stage.sessions() as s:
            return await counts(s, cid)

    def done(seen: dict[str, dict[str, int]]) -> bool:
        return all(seen.get(ch) == {state: 1} for ch, (state, _) in EXPECTED.items())

    try:
        seen = await until(probe, done, patience=patience, interval=0.1)
    except NotReached as exc:
        seen = exc.last  # type: ignore[assignment]
    return [_row(stage, ch, seen.get(ch, {})) for ch in CHANNELS]


def _row(stage: Stage, channel: str, states: dict[str, int]) -> Step:
    state, expected = EXPECTED[channel]
    said = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "nothing"
    evidence: dict[str, Any] = {
        "email": f"; SMTP sink holds {len(stage.sink.received)}",
        "sms": f"; provider accepted {stage.sms.accepted}",
        "fax": f"; provider accepted {stage.fax.accepted}",
        "registered-mail": f"; letters confirmed {stage.rol.confirmed}",
    }
    observed = f"1 member: {said}{evidence.get(channel, '')}"
    return step("campaign", f"campaign via {channel}", f"1 member: {expected}", observed,
                states == {state: 1})
