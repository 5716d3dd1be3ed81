"""Passive cycle appliers: store received invoice files, and SdI's messages about them.

`StoreReceivedFile` → the file and the MT go to the archive byte-identical (the envelope is
there already, as the inbox item), each Allegato under its SHA-256 with a safe name, then
`store.passive_intake.record_file` (deduplicated, every delivery logged).

`RecordSdiNotification` → taken when the message is about a file we *received* (SE after our
EC, DT when the 15-day window closed: domain.md §3.3), correlated by NomeFile, then
IdentificativoSdI, then the file-name stem; otherwise False, so the active cycle's applier (or
the Unmatched quarantine) has it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from handlers.formats.filenames import InvalidFileName, parse_notification_file_name
from handlers.formats.sdi_types import (
    NotificaDecorrenzaTermini,
    ScartoEsitoCommittente,
)
from handlers.passive.intake import StoreReceivedFile
from handlers.passive.records import InvoiceRecord
from handlers.sdi_notifications import RecordSdiNotification
from handlers.work import Effect
from store import passive_intake
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
    await passive_intake.record_file(
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
    return True


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
    recorded = await passive_intake.record_sdi_message(
        session, _message_in(effect), inbox_id=ctx.inbox_id, received_at=received)
    if recorded:
        await ctx.archive.put(effect.notification.content)
    return recorded
