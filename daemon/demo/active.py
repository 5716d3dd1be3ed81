"""The active cycle: five invoices, one per outcome of domain.md §3.3, sent to the sandbox SdI.

Each goes through the product's own use-cases (`daemon.invoicing.create_invoice` then
`send_invoice`, as `pecora invoice new --send` does) and is followed in the store until the
state its CodiceDestinatario's scenario leads to (daemon/sandbox/scenarios.py):

* a private (B2B) customer reached at its PEC (``0000000`` + PEC): RC, the invoice in its box;
* a PA that accepts (``UFF001``): RC, then NE EC01;
* a file SdI discards (``SCARTO1``): NS with the error list (00404);
* a PA that refuses (``UFF002``): RC, then NE EC02 with the PA's reason;
* a PA that never answers (``UFF003``): RC, then DT after 15 (simulated) days.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from daemon import invoicing
from daemon.demo.stage import CUSTOMER_PEC, USER, Stage
from daemon.demo.steps import NotReached, Step, step, until
from handlers.active.draft import from_mapping
from store import invoice_tracking as tracking
from store import invoices, parties
from store.clock import utcnow
from store.models_active import InvoiceState as S
from store.models_parties import PartyKind, PartyRole

SELLER = {
    "denominazione": "Pecora Demo Srl", "id_paese": "IT", "id_codice": "01234567890",
    "regime_fiscale": "RF01", "indirizzo": "Via Roma 1", "cap": "00184", "comune": "Roma",
    "provincia": "RM", "nazione": "IT",
}
ADDRESS = {"indirizzo": "Piazza Garibaldi 3", "cap": "20121", "comune": "Milano",
           "provincia": "MI", "nazione": "IT"}


@dataclass(frozen=True, slots=True)
class Case:
    """One invoice of the tour: whom it goes to and what must come of it."""

    name: str
    code: str
    kind: PartyKind
    final: S
    kinds: tuple[str, ...]  # the SdI messages that must have been recorded
    expected: str
    pec: str | None = None
    days: float = 1.0  # simulated days the outcome takes at most (for the patience)


CASES = (
    Case("to a private customer", "0000000", PartyKind.B2B, S.DELIVERED, ("RC",),
         "RC: delivered; invoice + MT in the customer's PEC box", pec=CUSTOMER_PEC),
    Case("to a PA that accepts", "UFF001", PartyKind.PA, S.ACCEPTED, ("RC", "NE-EC01"),
         "RC, then the PA's NE EC01: accepted", days=2),
    Case("rejected by SdI", "SCARTO1", PartyKind.B2B, S.SDI_REJECTED, ("NS",),
         "NS with SdI's error list (00404)"),
    Case("refused by the PA", "UFF002", PartyKind.PA, S.REFUSED, ("RC", "NE-EC02"),
         "RC, then NE EC02 with the PA's reason: refused", days=2),
    Case("expired (no answer)", "UFF003", PartyKind.PA, S.TERMS_EXPIRED, ("RC", "DT"),
         "RC, no answer, DT after 15 days: terms expired", days=16),
)


@dataclass(frozen=True, slots=True)
class Seen:
    """An invoice as the store has it: state, SdI messages (kinds, details, errors), file."""

    state: S | None
    kinds: list[str]
    details: dict[str, str]
    errors: list[Any]
    file_name: str | None


def _customer_fields(case: Case) -> dict[str, Any]:
    fields: dict[str, Any] = {**ADDRESS, "codice_destinatario": case.code,
                              "pec_destinatario": case.pec}
    if case.kind is PartyKind.PA:
        fields.update(denominazione=f"Ufficio {case.code} (PA)", codice_fiscale="80012345678")
    else:
        fields.update(denominazione=f"Cliente {case.code} Spa", id_paese="IT",
                      id_codice="09876543210")
    return fields


async def _send(stage: Stage, case: Case) -> int:
    """Add the customer, create its invoice and queue its file: the CLI's use-cases."""
    cfg = stage.settings.invoicing
    key = f"demo-{case.code.lower()}"
    async with stage.sessions() as s, s.begin():
        await parties.upsert(s, key, role=PartyRole.CUSTOMER, kind=case.kind,
                             fields=_customer_fields(case), now=utcnow())
        draft = from_mapping({"customer": key, "causale": [f"pecora demo: {case.name}"],
                              "lines": [{"description": "Consulenza", "quantity": "2",
                                         "unit_price": "100.00", "vat": "22"}]})
        invoice = await invoicing.create_invoice(s, draft, cfg=cfg, now=utcnow())
        invoice_id = invoice.id
    signer = invoicing.load_signer(cfg, sandbox=True)  # the sandbox's throw-away signing key
    ctx = invoicing.SendContext(cfg, signer, stage.archive, USER)
    async with stage.sessions() as s, s.begin():
        await invoicing.send_invoice(s, invoice_id, ctx, now=utcnow())
    return invoice_id


async def _follow(stage: Stage, case: Case, invoice_id: int, patience: float) -> Step:
    name = f"invoice {case.name}"

    async def probe() -> Seen:
        async with stage.sessions() as s:
            found = await invoices.get(s, invoice_id)
            events = await invoices.history(s, invoice_id)
            txs = await invoices.transmissions(s, invoice_id)
        sdi = [e for e in events if e.source == "sdi" and e.kind != "sdi-address"]
        return Seen(found.state if found else None, [e.kind for e in sdi],
                    {e.kind: e.detail or "" for e in sdi},
                    [x for e in sdi for x in (e.data or {}).get("errors", [])],
                    txs[-1].file_name if txs else None)

    def done(seen: Seen) -> bool:
        return seen.state is case.final and set(seen.kinds) >= set(case.kinds)

    try:
        seen = await until(probe, done, patience=patience)
    except NotReached as exc:
        last: Seen = exc.last  # type: ignore[assignment]
        said = f"{last.state.value if last.state else 'not created'} after {patience:g} s; " \
               f"SdI: {', '.join(last.kinds) or 'nothing yet'}"
        return step("active", name, case.expected, said, False)
    state, kinds, errors, file_name = seen.state, seen.kinds, seen.errors, seen.file_name
    assert state is not None
    observed = f"{state.value}; SdI: {', '.join(kinds)} ({file_name})"
    ok = True
    if case.final is S.REFUSED:
        observed += f"; {seen.details.get('NE-EC02', '')}"
    if case.final is S.SDI_REJECTED:
        codes = [e["code"] for e in errors]
        observed += "; errors: " + "; ".join(f"{e['code']} {e['description']}" for e in errors)
        ok = "00404" in codes
    if case.pec is not None:
        box = stage.boxes[case.pec]
        # SdI forwards the file to the PEC in the invoice, inside the provider's envelope.
        arrived = await _wait_in_box(box.messages, (file_name or "").encode())
        observed += "; in the customer's box" if arrived else "; NOT in the customer's box"
        ok = ok and arrived
    return step("active", name, case.expected, observed, ok)


async def _wait_in_box(messages: list[bytes], needle: bytes, patience: float = 10) -> bool:
    async def probe() -> bool:
        return any(needle in m for m in messages)

    try:
        await until(probe, bool, patience=patience)
    except NotReached:
        return False
    return True


async def _learned(stage: Stage, *, patience: float) -> None:
    async def probe() -> str | None:
        async with stage.sessions() as s:
            return await tracking.sdi_address(s, USER)

    with contextlib.suppress(NotReached):  # then the rest go to sdi01, which still works
        await until(probe, bool, patience=patience)


async def seed_seller(stage: Stage) -> None:
    """Our seller profile (the only one, so every invoice is ours)."""
    async with stage.sessions() as s, s.begin():
        await parties.upsert(s, "demo-seller", role=PartyRole.SELLER, kind=PartyKind.B2B,
                             fields=SELLER, now=utcnow())


async def run(stage: Stage, *, days_per_second: float, slack: float) -> list[Step]:
    """Send the five invoices at once and follow each to its outcome."""
    await seed_seller(stage)
    # Created and queued one after the other (numbers and file progressives are allocated in
    # order, and SQLite takes one writer at a time); then followed side by side.
    follows = []
    failed = []
    for n, case in enumerate(CASES):
        if n == 1:
            # SdI names the address to write to (sdiNN) in its first answer (domain.md §4.1):
            # like a real first run, wait for it rather than keep writing to sdi01.
            await _learned(stage, patience=slack)
        try:
            invoice_id = await _send(stage, case)
        except invoicing.InvoiceError as exc:
            failed.append(step("active", f"invoice {case.name}", case.expected,
                               f"not sent: {exc}", False))
            continue
        patience = case.days / days_per_second + slack
        follows.append(_follow(stage, case, invoice_id, patience))
    return failed + list(await asyncio.gather(*follows))
