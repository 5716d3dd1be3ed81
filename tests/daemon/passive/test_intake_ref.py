"""Real SdI envelopes (../shared/ref/pec) through the inbox runner into the store and archive;
the CLI over the result; deadline reminders; the trust fact making a signature valid."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config import InboxSettings
from daemon.config_passive import PassiveSettings, passive_facts
from daemon.metrics import Metrics
from daemon.passive_jobs import remind_deadlines
from daemon.runners.inbox import InboxRunner
from handlers.formats.fatturapa import write
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.pec import PecAttachment, PecKind, PecMessage
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.passive.facts import IntakeTrust
from handlers.passive.intake import ReceivedFileFacts, check_invoice_delivery
from handlers.sdi_mail import SdiDelivery
from handlers.work import Work
from store import inbox, passive
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.models import InboxState
from store.models_passive import (
    InvoiceAttachment,
    PassiveReminder,
    ReceivedDelivery,
    ReceivedFile,
    ReceivedInvoice,
)
from tests.handlers.formats.fatturapa import factory
from tests.support.ref import ref_bytes

WITH_MT = "sdi_invio-file_7339338_fattura-e-MT.eml"
P7M_B64 = "sdi_invio-file_7339338_p7m-base64.eml"
BROKEN = "sdi_invio-file_7339338_broken-xml.eml"


async def _take_in(sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive,
                   *raws: bytes, facts: tuple[object, ...] = ()) -> list[int]:
    ids = []
    for raw in raws:
        sha = await archive.put(raw)
        async with sessions() as s, s.begin():
            ids.append((await inbox.put(s, inbox.Received("lmtp", sha, len(raw)),
                                        now=utcnow())).item_id)
    runner = InboxRunner(sessions, archive, InboxSettings(), worker="w",
                         wake=asyncio.Event(), metrics=Metrics(), facts=facts)
    await runner.drain()
    return ids


async def test_invoice_with_mt_is_stored_archived_and_listed(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    raw = ref_bytes("pec", WITH_MT)
    broken = ref_bytes("pec", BROKEN)
    bad_id, good_id = await _take_in(sessions, archive, broken, raw)
    async with sessions() as s:
        bad, good = await inbox.get(s, bad_id), await inbox.get(s, good_id)
        [file] = (await s.execute(select(ReceivedFile))).scalars().all()
        [inv] = (await s.execute(select(ReceivedInvoice))).scalars().all()
        [att] = (await s.execute(select(InvoiceAttachment))).scalars().all()
    assert bad is not None and bad.state is InboxState.QUARANTINED
    assert "IT02652600210_00007.xml is not a readable FatturaPA invoice" in (bad.reason or "")
    assert good is not None and good.state is InboxState.DONE  # the mailbox went on
    assert (file.identificativo_sdi, file.file_name) == ("7339338", "IT02652600210_00007.xml")
    assert file.hash_check == "absent" and file.signature == "unsigned"  # 2018 MT: no Hash
    assert file.sdi_address == "sdi03@pec.fatturapa.it" and not file.ec_required
    assert (inv.numero, inv.anno, inv.tipo_documento) == ("FATT/2018/0003", 2018, "TD01")
    assert str(inv.importo_totale) .startswith("997.96")
    stored = await archive.get(file.file_sha256)  # byte-identical file, MT and envelope
    assert stored[:38] == b'<?xml version="1.0" encoding="UTF-8"?>' and len(stored) == file.size
    assert file.mt_sha256 is not None and await archive.exists(file.mt_sha256)
    assert att.safe_name == "0003.pdf" and (await archive.get(att.sha256))[:4] == b"%PDF"


async def test_base64_p7m_lot_and_the_same_file_delivered_again(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    raw = ref_bytes("pec", P7M_B64)
    again = b"Received: from relay by mx (a second delivery)\r\n" + raw
    await _take_in(sessions, archive, raw, again)
    async with sessions() as s:
        [file] = (await s.execute(select(ReceivedFile))).scalars().all()
        invoices = (await s.execute(select(ReceivedInvoice))).scalars().all()
        deliveries = (await s.execute(select(ReceivedDelivery))).scalars().all()
    assert file.file_name == "IT01234567890_FPR04.xml.p7m"
    assert (await archive.get(file.file_sha256))[:8] == b"MIIkBgYJ"  # base64 text as received
    assert file.signature == "untrusted" and "no trust anchors" in (file.signature_detail or "")
    assert [i.numero for i in invoices] == ["123", "456"]  # a lot of two
    assert [d.duplicate is None for d in deliveries] == [True, False]
    assert "same IdentificativoSdI 7339338" in (deliveries[1].duplicate or "")


def _envelope_work(name: str, content: bytes, facts: tuple[object, ...]) -> Work:
    att = PecAttachment(name, name, "application/octet-stream", content)
    pec = PecMessage(PecKind.POSTA_CERTIFICATA, "m@x", None, None, None, None,
                     "sdi01@pec.fatturapa.it", dt.datetime.now(dt.UTC), None, None, None,
                     None, None)
    return Work(1, b"raw", dt.datetime.now(dt.UTC), "lmtp",
                facts=(pec, SdiDelivery(None, None, None, (att,)), *facts))


def test_a_configured_anchor_makes_the_supplier_signature_valid() -> None:
    ca, signer = make_sandbox_pki("Fornitore di prova (test)")
    p7m = sign_cades_bes(write(factory.invoice()), signer, signing_time=dt.datetime.now(dt.UTC))
    name = "IT01234567890_00001.xml.p7m"
    trusted = check_invoice_delivery(_envelope_work(name, p7m, passive_facts(
        PassiveSettings(), extra_anchors=(ca,))))
    untrusted = check_invoice_delivery(_envelope_work(name, p7m, (IntakeTrust(),)))
    assert isinstance(trusted, Work) and isinstance(untrusted, Work)
    [ok] = trusted.require(ReceivedFileFacts).files
    [no] = untrusted.require(ReceivedFileFacts).files
    assert ok.signature.status == "valid" and no.signature.status == "untrusted"
    assert ok.hash_check == "absent"  # no MT in this envelope


async def test_reminders_before_the_deadline_once_each(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await _take_in(sessions, archive, ref_bytes("pec", WITH_MT))
    async with sessions() as s, s.begin():
        file = (await s.execute(select(ReceivedFile))).scalar_one()
        file.ec_required, file.deadline = True, utcnow() + dt.timedelta(days=1, hours=12)
    settings = PassiveSettings(reminder_days=[5, 2, 1])
    assert await remind_deadlines(sessions, settings) == 1  # the 2-day threshold
    assert await remind_deadlines(sessions, settings) == 0  # never twice
    later = utcnow() + dt.timedelta(hours=13)
    assert await remind_deadlines(sessions, settings, now=later) == 1  # then the 1-day one
    async with sessions() as s:
        kinds = sorted(r.kind for r in (await s.execute(select(PassiveReminder))).scalars())
        soon = await passive.listing(s, deadline_within=dt.timedelta(days=2), now=utcnow())
    assert kinds == ["1d", "2d"] and len(soon) == 1


async def test_cli_lists_shows_and_decides(tmp_path: Path) -> None:
    from store import migrate
    from store.db import create_engine, session_factory

    data = tmp_path / "data"
    data.mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'pecora.db'}")
    await migrate.upgrade(engine)
    await _take_in(session_factory(engine), FilesystemArchive(data / "archive"),
                   ref_bytes("pec", WITH_MT))
    await engine.dispose()
    config = tmp_path / "pecora.toml"
    config.write_text(f'[daemon]\ndata_dir = "{data}"\n', encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "daemon.cli_passive", "--config",
                               str(config), "passive", *args], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[3], timeout=60)

    listed = await asyncio.to_thread(cli, "list", "--to-review", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["number"] == "FATT/2018/0003" and row["ec"] == "B2B"
    html = tmp_path / "invoice.html"
    shown = await asyncio.to_thread(cli, "show", str(row["id"]), "--json", "--html", str(html))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["attachments"][0]["name"] == "0003.pdf"
    assert "FATT/2018/0003" in html.read_text(encoding="utf-8")
    missing = await asyncio.to_thread(cli, "accept", "999")
    assert missing.returncode == 1 and "no received invoice #999" in missing.stderr
    refused = await asyncio.to_thread(cli, "refuse", str(row["id"]), "--reason", "doppia",
                                      "--actor", "anna")
    assert refused.returncode == 0 and "refused" in refused.stdout
    twice = await asyncio.to_thread(cli, "accept", str(row["id"]), "--actor", "anna")
    assert twice.returncode == 1 and "already refused" in twice.stderr
    usage = await asyncio.to_thread(cli, "refuse", str(row["id"]))
    assert usage.returncode == 2
