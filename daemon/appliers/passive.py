"""Passive cycle appliers: store received invoice files, and SdI's messages about them.

`StoreReceivedFile` → the file and the MT go to the archive byte-identical (the envelope is
there already, as the inbox item), each Allegato under its SHA-256 with a safe name, then
`store.passive_intake.record_file` (deduplicated, every delivery logged).

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

import dataclasses
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from daemon.archive import passive_units
from daemon.archive.conservation import conservation_of
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
from store.models import InboxItem
from store.models_passive import PassiveEsito, ReceivedFile, ReceivedInvoice
from store.passive_intake import NewInvoice, SdiMessageIn

_NESTED = {"lines", "parties", "summaries", "payments", "attachments"}


def _row(record: Any, skip: set[str] = _NESTED) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
            if f.name not in skip}


async def _new_invoice(record: InvoiceRecord, ctx: ApplyContext) -> NewInvoice:
    attachments = []
    for a in record.attachments:
        sha = await ctx.archive.put(a.data)
        attachments.append({"safe_name": a.safe_name, "original_name": a.original_name,
                            "sha256": sha, "size": len(a.data), "formato": a.formato,
                            "descrizione": (a.descrizione or None)})
    return NewInvoice(
        values=_row(record),
        lines=[_row(x) for x in record.lines],
        parties=[_row(x) for x in record.parties],
        summaries=[_row(x) for x in record.summaries],
        payments=[_row(x) for x in record.payments],
        attachments=attachments,
    )


@applier(StoreReceivedFile)
async def store_received_file(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """See the module docstring."""
    assert isinstance(effect, StoreReceivedFile)
    f = effect.file
    # Archive first: content-addressed and idempotent, so a rolled-back transaction only
    # leaves bytes nobody references, never a row pointing at nothing.
    file_sha = await ctx.archive.put(f.content)
    mt_sha = await ctx.archive.put(effect.mt_content) if effect.mt_content is not None else None
    invoices = [await _new_invoice(r, ctx) for r in f.invoices]
    recorded = await passive_intake.record_file(
        session,
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
        invoices=invoices,
        delivery={
            "inbox_id": ctx.inbox_id, "envelope_sha256": effect.envelope_sha256,
            "pec_identificativo": effect.pec_identificativo,
            "identificativo_sdi": effect.identificativo_sdi, "file_name": f.file_name,
            "file_sha256": file_sha, "delivered_at": effect.delivered_at,
        },
        now=ctx.now,
    )
    if recorded.invoice_ids:  # bodies stored now (none for a redelivered file)
        await _archive_units(session, effect, recorded.invoice_ids, ctx)
    return True


async def _archive_units(session: AsyncSession, effect: StoreReceivedFile,
                         invoice_ids: list[int], ctx: ApplyContext) -> None:
    positions = (await session.scalars(select(ReceivedInvoice.position).where(
        ReceivedInvoice.id.in_(invoice_ids)))).all()
    mt = (ItemInput(effect.mt_name or "MT.xml", effect.mt_content, DocumentKind.SDI_MESSAGE,
                    "application/xml", subtype="MT")
          if effect.mt_content is not None else None)
    # The envelope is the inbox item, already in the operational store under its hash.
    envelope = ItemInput(f"envelope-{effect.envelope_sha256[:16]}.eml",
                         await ctx.archive.get(effect.envelope_sha256),
                         DocumentKind.PEC_ENVELOPE, "message/rfc822",
                         subtype="posta-certificata")
    await passive_units.archive_received_file(
        session, conservation_of(ctx.archive), effect.file, positions=list(positions),
        sdi_id=effect.identificativo_sdi, mt=mt, envelope=envelope, now=ctx.now)


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
