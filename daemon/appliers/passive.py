"""Passive cycle appliers: store received invoice files, and SdI's messages about them.

`StoreReceivedFile` → the file and the MT go to the archive byte-identical (the envelope is
there already, as the inbox item), each Allegato under its SHA-256 with a safe name, then
`store.passive_intake.record_file` (deduplicated, every delivery logged). Several deliveries at
once (`store_received_files`, the inbox runner's batch): the files that duplicate nothing,
stored or in the batch, are recorded and archived with a few bulk statements for all; the
others are left to `store_received_file`, one by one, with the same outcome.

`RecordSdiNotification` → taken when the message is about a file we *received* (SE after our
EC, DT when the 15-day window closed: domain.md §3.3), correlated by NomeFile, then
IdentificativoSdI, then the file-name stem; otherwise False, so the active cycle's applier (or
the Unmatched quarantine) has it.

`RecordPecReceipt` → taken when it is the provider's receipt for an EC we sent (recorded like the
fallback would); the EC and the receipt then join the invoice's archival unit.

Conservazione (domain.md §6.3): each newly stored body becomes an archival unit in the WORM
backend, in this same transaction, with the file, MT and envelope; SE/DT and our EC are added
as they come (daemon/archive/passive_units.py explains per body). A redelivered file is a
duplicate for `record_file`, so it creates no second unit; items are named by their SHA-256,
so a redelivered message adds nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier, batch_applier
from daemon.archive import passive_units, units
from daemon.archive.conservation import conservation_of
from daemon.archive.units import NewUnit
from handlers.archive.model import DocumentKind, ItemInput
from handlers.formats.filenames import InvalidFileName, parse_notification_file_name
from handlers.formats.sdi_types import (
    NotificaDecorrenzaTermini,
    ScartoEsitoCommittente,
)
from handlers.passive.intake import StoreReceivedFile
from handlers.passive.records import InvoiceRecord
from handlers.pec_receipts import RecordPecReceipt
from handlers.sdi_notifications import RecordSdiNotification
from handlers.work import Effect
from store import passive_intake, receipts
from store.archive import put_all, sha256_hex
from store.models import InboxItem
from store.models_passive import PassiveEsito, ReceivedFile, ReceivedInvoice
from store.passive_intake import NewFile, NewInvoice, SdiMessageIn

_NESTED = {"lines", "parties", "summaries", "payments", "attachments"}


def _row(record: Any, skip: set[str] = _NESTED) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
            if f.name not in skip}


@dataclass(frozen=True, slots=True)
class _Delivery:
    """A `StoreReceivedFile` made ready: the rows to record, the bytes for the archive."""

    effect: StoreReceivedFile
    ctx: ApplyContext
    new: NewFile
    blobs: tuple[bytes, ...]  # file, MT, Allegati: to the operational archive


def _new_invoice(record: InvoiceRecord) -> NewInvoice:
    attachments = [{"safe_name": a.safe_name, "original_name": a.original_name,
                    "sha256": sha256_hex(a.data), "size": len(a.data), "formato": a.formato,
                    "descrizione": (a.descrizione or None)} for a in record.attachments]
    return NewInvoice(
        values=_row(record),
        lines=[_row(x) for x in record.lines],
        parties=[_row(x) for x in record.parties],
        summaries=[_row(x) for x in record.summaries],
        payments=[_row(x) for x in record.payments],
        attachments=attachments,
    )


def _prepare(effect: Effect, ctx: ApplyContext) -> _Delivery:
    assert isinstance(effect, StoreReceivedFile)
    f = effect.file
    # Content-addressed: the names are the SHA-256 of the bytes, known before writing them.
    file_sha = sha256_hex(f.content)
    mt_sha = sha256_hex(effect.mt_content) if effect.mt_content is not None else None
    new = NewFile(
        file={
            "identificativo_sdi": effect.identificativo_sdi, "file_name": f.file_name,
            "file_sha256": file_sha, "size": len(f.content), "mt_file_name": effect.mt_name,
            "mt_sha256": mt_sha, "hash_check": f.hash_check, "signature": f.signature.status,
            "signature_detail": f.signature.detail, "signer": f.signature.signer,
            "formato": f.formato, "codice_destinatario": f.codice_destinatario,
            "ec_required": effect.ec_required, "sdi_address": effect.sdi_address,
            "our_address": effect.our_address, "delivered_at": effect.delivered_at,
            "deadline": effect.deadline, "notes": list(f.notes),
        },
        invoices=[_new_invoice(r) for r in f.invoices],
        delivery={
            "inbox_id": ctx.inbox_id, "envelope_sha256": effect.envelope_sha256,
            "pec_identificativo": effect.pec_identificativo,
            "identificativo_sdi": effect.identificativo_sdi, "file_name": f.file_name,
            "file_sha256": file_sha, "delivered_at": effect.delivered_at,
        },
    )
    blobs = (f.content, *((effect.mt_content,) if effect.mt_content is not None else ()),
             *(a.data for r in f.invoices for a in r.attachments))
    return _Delivery(effect, ctx, new, blobs)


async def _write(deliveries: Sequence[_Delivery], *, units_too: bool = False) -> None:
    """Put the deliveries' files in the operational archive, each distinct content once.

    All in flight together (their fsyncs are shared). Nothing points at them until the
    caller's transaction commits, after this returned: a rollback only leaves bytes nobody
    references, never a row pointing at nothing. ``units_too``: every file is also an item of
    a unit archived now; when the conservation backend is the operational directory (the
    default), its put stores the very same file, so writing it here too would be done twice.
    """
    if not deliveries:
        return
    archive = deliveries[0].ctx.archive
    conservation = conservation_of(archive)
    if units_too and getattr(conservation, "root", None) == getattr(archive, "root", False):
        return
    distinct = {sha256_hex(b): b for d in deliveries for b in d.blobs}
    await put_all(archive, list(distinct.values()))


async def _envelopes(deliveries: Sequence[_Delivery]) -> list[bytes]:
    # The envelope is the inbox item, already in the operational store under its hash.
    return list(await asyncio.gather(*(d.ctx.archive.get(d.effect.envelope_sha256)
                                       for d in deliveries)))


@applier(StoreReceivedFile)
async def store_received_file(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """See the module docstring."""
    d = _prepare(effect, ctx)
    _, recorded = await units.alongside(_write([d]), passive_intake.record_file(
        session, file=d.new.file, invoices=d.new.invoices, delivery=d.new.delivery,
        now=ctx.now))
    if recorded.positions:  # bodies stored now (none for a redelivered file)
        new = _units(d, recorded.positions, (await _envelopes([d]))[0])
        await units.archive_units(session, conservation_of(ctx.archive), new, now=ctx.now)
    return True


@batch_applier(StoreReceivedFile)
async def store_received_files(
    session: AsyncSession, items: Sequence[tuple[Effect, ApplyContext]]
) -> list[bool]:
    """Store the files that duplicate nothing, all at once; leave the others to the above.

    Every body of such a file is stored now, so its units are known before any row is
    written: the files, the units' items and manifests are written in one wave, while the
    rows of the files and of their units are inserted.
    """
    prepared = [_prepare(effect, ctx) for effect, ctx in items]
    fresh = await passive_intake.fresh_files(session, [d.new for d in prepared])
    archived = await units.existing_identifiers(session, [
        passive_units.identifier(d.effect.file.file_name, r.position)
        for d in prepared for r in d.effect.file.invoices])
    fresh = [ok and not any(passive_units.identifier(d.effect.file.file_name, r.position)
                            in archived for r in d.effect.file.invoices)
             for d, ok in zip(prepared, fresh, strict=True)]
    taken = [d for d, ok in zip(prepared, fresh, strict=True) if ok]
    if not taken:
        return fresh
    ctx = taken[0].ctx
    new = [unit for d, envelope in zip(taken, await _envelopes(taken), strict=True)
           for unit in _units(d, [r.position for r in d.effect.file.invoices], envelope)]

    async def record() -> None:
        await passive_intake.insert_files(session, [d.new for d in taken], now=ctx.now)

    await units.alongside(_write(taken, units_too=True), units.archive_units(
        session, conservation_of(ctx.archive), new, now=ctx.now, rows_first=record))
    return fresh


def _units(d: _Delivery, positions: Sequence[int], envelope: bytes) -> list[NewUnit]:
    """The archival units of the bodies at ``positions`` of a delivered file."""
    e = d.effect
    mt = (ItemInput(e.mt_name or "MT.xml", e.mt_content, DocumentKind.SDI_MESSAGE,
                    "application/xml", subtype="MT")
          if e.mt_content is not None else None)
    return passive_units.new_units(
        e.file, positions=positions, sdi_id=e.identificativo_sdi, mt=mt,
        envelope=ItemInput(f"envelope-{e.envelope_sha256[:16]}.eml", envelope,
                           DocumentKind.PEC_ENVELOPE, "message/rfc822",
                           subtype="posta-certificata"))


def _message_in(effect: RecordSdiNotification) -> SdiMessageIn:
    n = effect.notification
    m = n.message
    try:
        stem: str | None = parse_notification_file_name(n.file_name).invoice_stem
    except InvalidFileName:
        stem = None
    rif = getattr(m, "riferimento_fattura", None)
    detail = getattr(m, "descrizione", None) or m.note
    scarto = mid = None
    if isinstance(m, ScartoEsitoCommittente):
        scarto, mid = m.scarto.value, m.message_id_committente
        detail = f"{scarto}: {m.note}" if m.note else scarto
    elif isinstance(m, NotificaDecorrenzaTermini):
        detail = m.descrizione or "decorrenza termini"
    return SdiMessageIn(
        type=m.type.value, file_name=n.file_name, invoice_stem=stem,
        nome_file=getattr(m, "nome_file", None), identificativo_sdi=m.identificativo_sdi,
        sha256=hashlib.sha256(n.content).hexdigest(), detail=detail, scarto=scarto,
        message_id_committente=mid,
        posizione=rif.posizione_fattura if rif is not None else None,
        numero=rif.numero_fattura if rif is not None and rif.posizione_fattura is None
        else None,
    )


@applier(RecordSdiNotification)
async def record_for_received_invoice(
    session: AsyncSession, effect: Effect, ctx: ApplyContext
) -> bool:
    """Take SE/DT/... about a file we received; False for anything else (see the docstring)."""
    assert isinstance(effect, RecordSdiNotification)
    received = effect.notification.received_at or ctx.now
    msg = _message_in(effect)
    recorded = await passive_intake.record_sdi_message(
        session, msg, inbox_id=ctx.inbox_id, received_at=received)
    if recorded:
        note = effect.notification
        await ctx.archive.put(note.content)
        file = await passive_intake.find_file(session, msg)
        if file is not None:
            await passive_units.add_evidence(
                session, conservation_of(ctx.archive), file,
                [ItemInput(note.file_name, note.content, DocumentKind.SDI_MESSAGE,
                           "application/xml", subtype=msg.type)],
                position=msg.posizione, now=ctx.now)
    return recorded


@applier(RecordPecReceipt)
async def record_ec_receipt(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Take the provider's receipt for an EC we sent: record it, archive EC and receipt."""
    assert isinstance(effect, RecordPecReceipt)
    if ctx.inbox_id is None:
        return False
    item = await receipts.sent_item(session, effect.ref_message_id)
    esito = (await session.scalar(select(PassiveEsito).where(PassiveEsito.outbox_id == item.id))
             if item is not None else None)
    if item is None or esito is None:
        return False
    await receipts.record(
        session, inbox_id=ctx.inbox_id, receipt_type=effect.receipt_type,
        ref_message_id=effect.ref_message_id, recipient=effect.recipient, error=effect.error,
        now=ctx.now)
    inv = await session.get(ReceivedInvoice, esito.invoice_id)
    file = await session.get(ReceivedFile, inv.file_id) if inv is not None else None
    raw = await session.get(InboxItem, ctx.inbox_id)
    if inv is None or file is None or raw is None:
        return True
    ec = passive_units.attachment(item.payload, esito.file_name)
    items = [ItemInput(f"{esito.file_name}.eml", item.payload, DocumentKind.PEC_ENVELOPE,
                       "message/rfc822", subtype="EC-sent"),
             ItemInput(f"pec-{effect.receipt_type}-{ctx.inbox_id}.eml",
                       await ctx.archive.get(raw.sha256), DocumentKind.PEC_RECEIPT,
                       "message/rfc822", subtype=effect.receipt_type)]
    if ec is not None:
        items.insert(0, ItemInput(esito.file_name, ec, DocumentKind.SDI_MESSAGE,
                                  "application/xml", subtype="EC"))
    await passive_units.add_evidence(session, conservation_of(ctx.archive), file, items,
                                     position=inv.position, now=ctx.now)
    return True
