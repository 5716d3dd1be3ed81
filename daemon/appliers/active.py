"""Active cycle appliers: PEC receipts and SdI notifications about the files we sent.

Both are correlated to an `InvoiceTransmission` (receipts by our Message-ID, notifications by
NomeFile, then IdentificativoSdI, then PecMessageId: domain.md §3.4), archived with the invoice
as an event, and move the state as `handlers.active.states.advance` says: duplicates and
out-of-order arrivals are recorded and change nothing. What is not about one of our files is
left to the other appliers (``return False``): the passive cycle takes SE/DT about invoices we
received, the fallback records stray receipts, and a notification nobody takes is held.

Every notification and receipt taken is also evidence for conservazione (domain.md §6.3): it is
added, byte-identical, to the archival unit of the file it is about (the notification linked by
IdentificativoSdI), in this same transaction (daemon/archive/active_units.py). Items are named
by their SHA-256, so a redelivered message adds nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from daemon.archive import active_units
from daemon.archive.conservation import conservation_of
from handlers.active import correlate
from handlers.active.states import Event, State, advance, pec_event
from handlers.active.verify import NoteSdiSignature, SdiSignature
from handlers.archive.model import DocumentKind, ItemInput
from handlers.pec_receipts import RecordPecReceipt
from handlers.sdi_notifications import RecordSdiNotification
from handlers.work import Effect
from store import invoice_tracking as tracking
from store import invoices, receipts
from store.models import InboxItem, OutboxItem
from store.models_active import InvoiceState, InvoiceTransmission

_SIGNATURES = "active.sdi_signatures"  # session.info key: verdicts of this transaction


@applier(NoteSdiSignature)
async def note_sdi_signature(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Keep the verdict for the notification recorded next in this transaction."""
    assert isinstance(effect, NoteSdiSignature)
    session.info.setdefault(_SIGNATURES, {})[effect.signature.file_name] = effect.signature
    return True


async def _learn_address(session: AsyncSession, tx: InvoiceTransmission, address: str,
                         source: str, ctx: ApplyContext) -> None:
    """Every SdI message names the sdiNN to use next (§4.1): persist it for our sender."""
    item = await session.get(OutboxItem, tx.outbox_id) if tx.outbox_id else None
    if item is None or not item.sender:
        return
    if await tracking.learn_sdi_address(session, item.sender, address, source=source,
                                        now=ctx.now):
        await tracking.add_event(
            session, invoice_id=tx.invoice_id, transmission_id=tx.id,
            dedupe_key=f"sdi-address:{tx.id}:{address}", source="sdi", kind="sdi-address",
            detail=f"SdI address for {item.sender} is now {address}", occurred_at=ctx.now,
            now=ctx.now)


@applier(RecordSdiNotification)
async def record_for_sent_invoice(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Take the notification if it is about a file we sent (see the module docstring)."""
    assert isinstance(effect, RecordSdiNotification)
    note = effect.notification
    reading = correlate.read(note)
    if reading is None:
        return False
    tx = await tracking.find_transmission(
        session, file_names=reading.keys.file_names,
        identificativo_sdi=reading.keys.identificativo_sdi,
        pec_message_id=reading.keys.pec_message_id)
    if tx is None:
        return False
    invoice = await invoices.get(session, tx.invoice_id)
    assert invoice is not None
    sha = await ctx.archive.put(note.content)  # kept with the invoice, whatever it changes
    signature: SdiSignature | None = session.info.get(_SIGNATURES, {}).get(note.file_name)
    current = State(tx.state.value)
    target = advance(current, reading.event, pa=invoice.pa)
    data: dict[str, object] = {"identificativo_sdi": note.message.identificativo_sdi,
                               "sdi_address": note.sdi_address}
    if reading.errors:
        data["errors"] = [{"code": c, "description": d, "suggestion": s}
                          for c, d, s in reading.errors]
    if signature is not None:
        data["signature"] = {"ok": signature.ok, "reason": signature.reason}
    new = await tracking.add_event(
        session, invoice_id=tx.invoice_id, transmission_id=tx.id,
        # The notification's own file name is unique per message (§2); with the content hash
        # a byte-identical duplicate is recognised and changes nothing.
        dedupe_key=f"sdi:{tx.id}:{note.file_name}:{sha[:16]}", source="sdi",
        kind=reading.event.value, detail=reading.summary,
        from_state=current.value if target else None, to_state=target.value if target else None,
        archive_sha256=sha, archive_name=note.file_name, inbox_id=ctx.inbox_id, data=data,
        occurred_at=note.received_at or ctx.now, now=ctx.now)
    await active_units.add_evidence(
        session, conservation_of(ctx.archive), tx.file_name,
        [ItemInput(note.file_name, note.content, DocumentKind.SDI_MESSAGE, "application/xml",
                   subtype=note.message.type.value)],
        sdi_id=note.message.identificativo_sdi, now=ctx.now)
    if not new:
        return True
    if tx.identificativo_sdi is None and note.message.identificativo_sdi:
        tx.identificativo_sdi = note.message.identificativo_sdi
    if reading.event in (Event.NS, Event.RC, Event.MC) and tx.answered_at is None:
        tx.answered_at = ctx.now
    if reading.event is Event.RC and target is not None:
        tx.delivered_at = ctx.now  # the PA's 15 days run from here (§3.3)
    if target is not None:
        await tracking.move(session, tx, InvoiceState(target.value), at=ctx.now)
    if reading.sdi_address:
        await _learn_address(session, tx, reading.sdi_address, note.file_name, ctx)
    return True


@applier(RecordPecReceipt)
async def record_invoice_receipt(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Record a provider receipt about an invoice file we sent, and move its state."""
    assert isinstance(effect, RecordPecReceipt)
    if ctx.inbox_id is None:
        return False
    item = await receipts.sent_item(session, effect.ref_message_id)
    tx = await tracking.by_outbox(session, item.id) if item is not None else None
    if tx is None:
        return False
    receipt = await receipts.record(
        session, inbox_id=ctx.inbox_id, receipt_type=effect.receipt_type,
        ref_message_id=effect.ref_message_id, recipient=effect.recipient, error=effect.error,
        now=ctx.now)
    invoice = await invoices.get(session, tx.invoice_id)
    assert invoice is not None
    event = pec_event(effect.receipt_type)
    current = State(tx.state.value)
    target = advance(current, event, pa=invoice.pa) if event is not None else None
    raw = await session.get(InboxItem, ctx.inbox_id)
    detail = effect.error or (f"to {effect.recipient}" if effect.recipient else None)
    await tracking.add_event(
        session, invoice_id=tx.invoice_id, transmission_id=tx.id,
        dedupe_key=f"pec:{ctx.inbox_id}", source="pec", kind=effect.receipt_type,
        detail=detail, from_state=current.value if target else None,
        to_state=target.value if target else None,
        archive_sha256=raw.sha256 if raw else None, archive_name=f"{effect.receipt_type}.eml",
        inbox_id=ctx.inbox_id, data={"pec_receipt_id": receipt.id}, occurred_at=ctx.now,
        now=ctx.now)
    if raw is not None:  # the receipt .eml as the provider sent it: evidence of the transmission
        await active_units.add_evidence(
            session, conservation_of(ctx.archive), tx.file_name,
            [ItemInput(f"pec-{effect.receipt_type}-{ctx.inbox_id}.eml",
                       await ctx.archive.get(raw.sha256), DocumentKind.PEC_RECEIPT,
                       "message/rfc822", subtype=effect.receipt_type)],
            sdi_id=None, now=ctx.now)
    if event is Event.ACCETTAZIONE and tx.pec_accepted_at is None:
        tx.pec_accepted_at = ctx.now
    if tx.submitted_at is None:
        tx.submitted_at = ctx.now  # any receipt proves the provider took the message
    if target is not None:
        await tracking.move(session, tx, InvoiceState(target.value), at=ctx.now)
    return True
