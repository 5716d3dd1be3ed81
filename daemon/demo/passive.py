"""The passive cycle: two supplier invoices arrive from the sandbox SdI and the user decides.

The in-process world's `SimulatedSupplier` delivers each file with its MT exactly as SdI does;
pecora's intake stores it. The user then decides with the product's use-cases
(`store.passive.accept`/`refuse`, the same the CLI and the bot call, with the ``[passive]``
decision policy): a B2B invoice is accepted (recorded: SdI has no B2B acceptance), and an FPA12
addressed to one of our offices as a PA is refused, so an EC02 goes to SdI, which records the
refusal and sends its NE to the supplier.

The invoices are written by pecora's own builder (supplier as seller, us as customer).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import select

from daemon.config_passive import decision_policy
from daemon.demo.stage import SUPPLIER, USER, Stage
from daemon.demo.steps import NotReached, Step, step, until
from handlers.active.build import Numbering, build
from handlers.active.draft import from_mapping
from handlers.active.parties import B2B, PA, PartyData
from handlers.formats.fatturapa import FatturaElettronica
from store import passive
from store.clock import utcnow
from store.models import OutboxItem, OutboxState
from store.models_passive import ReceivedFile, ReceivedInvoice, ReviewState

PA_OFFICE = "UFX001"  # our office as a PA: no scenario, SdI delivers and waits for our EC
ACTOR = "demo"
REASON = "CIG assente: fattura non accettabile"
COUNT = 2  # supplier invoices in the tour

_SUPPLIER = PartyData(
    key="fornitore", kind=B2B, denominazione="Forniture Sandbox Srl", id_paese="IT",
    id_codice="09876543210", regime_fiscale="RF01", indirizzo="Via Milano 10", cap="20121",
    comune="Milano", provincia="MI")
_US_B2B = PartyData(
    key="noi", kind=B2B, denominazione="Pecora Demo Srl", id_paese="IT",
    id_codice="01234567890", indirizzo="Via Roma 1", cap="00184", comune="Roma",
    provincia="RM", codice_destinatario="0000000", pec_destinatario=USER)
_US_PA = PartyData(
    key="noi-pa", kind=PA, denominazione="Ente Demo - Ufficio acquisti",
    codice_fiscale="80012345678", indirizzo="Via Roma 1", cap="00184", comune="Roma",
    provincia="RM", codice_destinatario=PA_OFFICE)


def supplier_invoice(customer: PartyData, numero: str) -> FatturaElettronica:
    """A one-line invoice from the sandbox supplier to ``customer`` (FPA12 for a PA)."""
    draft = from_mapping({"customer": customer.key, "lines": [
        {"description": "Toner e carta", "quantity": "5", "unit_price": "24.00", "vat": "22"}]})
    return build(draft, seller=_SUPPLIER, customer=customer,
                 numbering=Numbering(numero, date.today(), "00001"))


async def _received(stage: Stage, ident: str, patience: float) -> ReceivedInvoice:
    async def probe() -> ReceivedInvoice | None:
        async with stage.sessions() as s:
            query = (select(ReceivedInvoice)
                     .join(ReceivedFile, ReceivedInvoice.file_id == ReceivedFile.id)
                     .where(ReceivedFile.identificativo_sdi == ident))
            return (await s.execute(query)).scalar()

    found = await until(probe, lambda inv: inv is not None, patience=patience)
    assert found is not None
    return found


async def _accept_b2b(stage: Stage, numero: str, patience: float) -> Step:
    expected = "received with its MT; accepted by the user (B2B: recorded, no EC)"
    sent = await stage.world.supplier.deliver(supplier_invoice(_US_B2B, numero))
    try:
        inv = await _received(stage, sent.identificativo_sdi, patience)
    except NotReached:
        return step("passive", "supplier invoice accepted", expected,
                    f"{sent.name} not stored within {patience:g} s", False)
    async with stage.sessions() as s, s.begin():
        result = await passive.accept(s, inv.id, actor=ACTOR, now=utcnow(),
                                      policy=decision_policy(stage.settings.passive))
    ok = result.state is ReviewState.ACCEPTED and result.ec_outbox_id is None
    return step("passive", "supplier invoice accepted", expected,
                f"{sent.name} stored ({inv.seller_name}, n. {inv.numero}); "
                f"{result.state.value}: {result.message}", ok)


async def _refuse_pa(stage: Stage, numero: str, patience: float) -> Step:
    name = "supplier invoice refused (PA)"
    expected = "FPA12 received; refused by the user: EC02 reaches SdI, NE EC02 to the supplier"
    sent = await stage.world.supplier.deliver(supplier_invoice(_US_PA, numero))
    try:
        inv = await _received(stage, sent.identificativo_sdi, patience)
    except NotReached:
        return step("passive", name, expected,
                    f"{sent.name} not stored within {patience:g} s", False)
    async with stage.sessions() as s, s.begin():
        result = await passive.refuse(s, inv.id, actor=ACTOR, reason=REASON, now=utcnow(),
                                      policy=decision_policy(stage.settings.passive))
    supplier_box = stage.boxes[SUPPLIER]

    async def probe() -> dict[str, Any]:
        record = stage.world.sdi.record(sent.identificativo_sdi)
        async with stage.sessions() as s:
            item = await s.get(OutboxItem, result.ec_outbox_id) if result.ec_outbox_id else None
        return {"sdi": record.state.value if record else "unknown",
                "ec": item.state.value if item else "none",
                "ne": any(b"_NE_" in m for m in supplier_box.messages)}

    def done(seen: dict[str, Any]) -> bool:
        return bool(seen["sdi"] == "refused" and seen["ec"] == OutboxState.SENT.value
                    and seen["ne"])

    try:
        seen = await until(probe, done, patience=patience)
        ok = True
    except NotReached as exc:
        seen, ok = exc.last, False  # type: ignore[assignment]
    observed = (f"{sent.name} stored (EC due in 15 days); {result.message}; "
                f"EC outbox: {seen['ec']}; SdI: {seen['sdi']}; "
                f"NE to the supplier: {'yes' if seen['ne'] else 'no'}")
    return step("passive", name, expected, observed, ok)


async def run(stage: Stage, *, run_id: str, patience: float) -> list[Step]:
    """Both supplier invoices, side by side."""
    return list(await asyncio.gather(
        _accept_b2b(stage, f"F{run_id}-1", patience),
        _refuse_pa(stage, f"F{run_id}-2", patience),
    ))
