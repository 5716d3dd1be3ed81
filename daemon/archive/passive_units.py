"""The passive cycle's archival units: one per invoice *body* we receive, and its evidence.

Why per body: the metadata of domain.md §6.3 belongs to one fiscal document — its number, date,
TD code, parties, *chiave descrittiva* — and a lot (one file, several FatturaElettronicaBody)
carries several documents; DM 17/6/2014 search by party and date must find each of them.
The file cannot be split (its signature and SdI's Hash cover all of it), so every unit of a lot
holds the whole file byte-identical, plus the MT and the PEC transport envelope; the archive is
content-addressed, so the bytes are stored once. Identifier: ``in/<file name>#<position>``
(SdI refuses a second file with the same name, so it is unique; a single invoice is ``#1``).

Later evidence: SdI's SE/DT about the file (to the body it names, else to every body), and the
EC we send (the EC file, the PEC message as sent, and the provider's receipts for it), added
when the provider's receipt for the EC comes back, which proves it left. Session first, never
commit: the applier's transaction records the cycle's rows and the unit together.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import units
from daemon.archive.units import ArchivedUnit, NewUnit
from handlers.archive.model import (
    DocumentKind,
    Flow,
    ItemInput,
    LinkInput,
    LinkKind,
    Party,
    PartyRole,
    UnitMetadata,
)
from handlers.passive.intake import CheckedFile, Signature
from handlers.passive.records import InvoiceRecord
from store.archive_worm import WormArchive
from store.models_passive import ReceivedFile, ReceivedInvoice

log = logging.getLogger(__name__)

CREDIT_NOTES = frozenset({"TD04"})
_ROLES = {"seller": PartyRole.SELLER, "buyer": PartyRole.BUYER,
          "issuer": PartyRole.INTERMEDIARY}


def identifier(file_name: str, position: int) -> str:
    """The unit identifier of body ``position`` (1-based) of a received file."""
    return f"in/{file_name}#{position}"


def signature_outcome(sig: Signature) -> tuple[bool, str]:
    """(signed?, outcome) from the intake's p7m check (domain.md §6.3 *verifica*)."""
    if sig.status == "unsigned":
        return False, "not-signed"
    if sig.status == "valid":
        return True, "valid"
    return True, f"invalid:{sig.status}" + (f": {sig.detail}" if sig.detail else "")


def _parties(record: InvoiceRecord) -> tuple[Party, ...]:
    out = []
    for p in record.parties:
        role = _ROLES.get(p.role)
        if role is None:
            continue
        vat = f"{p.id_paese}{p.id_codice}" if p.id_paese and p.id_codice else None
        out.append(Party(role, denomination=p.name, codice_fiscale=p.codice_fiscale,
                         partita_iva=vat))
    return tuple(out)


def _metadata(f: CheckedFile, record: InvoiceRecord, sdi_id: str | None) -> UnitMetadata:
    signed, outcome = signature_outcome(f.signature)
    credit_note = record.tipo_documento in CREDIT_NOTES
    return UnitMetadata(
        identifier=identifier(f.file_name, record.position),
        kind=DocumentKind.CREDIT_NOTE_IN if credit_note else DocumentKind.INVOICE_IN,
        flow=Flow.IN, document_type=record.tipo_documento, number=record.numero,
        date=record.data, parties=_parties(record),
        file_format="FatturaPA XML, CAdES-BES (P7M)" if signed else "FatturaPA XML",
        format_version=f.formato or "FPR12", signed=signed, signature_outcome=outcome,
        formation="received via telematic channel (SdI over PEC)", sdi_id=sdi_id,
        description=f"{record.tipo_documento} {record.numero} del {record.data.isoformat()} "
                    f"da {record.seller_name}",
        links=(LinkInput(LinkKind.NOTIFICATION_OF, f"sdi:{sdi_id}"),) if sdi_id else (),
    )


def new_units(
    f: CheckedFile, *, positions: Sequence[int], sdi_id: str | None, mt: ItemInput | None,
    envelope: ItemInput | None,
) -> list[NewUnit]:
    """The unit of each body at ``positions`` (pure: `archive_received_file` stores them)."""
    out = []
    for record in f.invoices:
        if record.position not in positions:
            continue
        meta = _metadata(f, record, sdi_id)
        items = [ItemInput(f.file_name, f.content, meta.kind,
                           "application/pkcs7-mime" if meta.signed else "application/xml")]
        items += [i for i in (mt, envelope) if i is not None]
        items += [ItemInput(a.safe_name, a.data, DocumentKind.ATTACHMENT) for a in
                  record.attachments]
        out.append(NewUnit(meta, tuple(items)))
    return out


async def archive_received_file(
    session: AsyncSession, archive: WormArchive, f: CheckedFile, *, positions: Sequence[int],
    sdi_id: str | None, mt: ItemInput | None, envelope: ItemInput | None, now: dt.datetime,
) -> list[ArchivedUnit]:
    """Archive a unit for each body at ``positions`` (the ones newly stored; idempotent)."""
    return await units.archive_units(
        session, archive,
        new_units(f, positions=positions, sdi_id=sdi_id, mt=mt, envelope=envelope), now=now)


async def add_evidence(
    session: AsyncSession, archive: WormArchive, file: ReceivedFile, items: Sequence[ItemInput],
    *, position: int | None, now: dt.datetime,
) -> None:
    """Add ``items`` to the unit of body ``position`` of ``file``, or to every body's unit."""
    query = select(ReceivedInvoice.position).where(ReceivedInvoice.file_id == file.id)
    if position is not None:
        query = query.where(ReceivedInvoice.position == position)
    for pos in (await session.scalars(query)).all():
        ident = identifier(file.file_name, pos)
        if await units.get_unit(session, ident) is None:
            log.warning("no archival unit %s: evidence not added to conservation", ident)
            continue
        await units.add_items(session, archive, ident, items, now=now)


def attachment(message: bytes, name: str) -> bytes | None:
    """The attachment called ``name`` of a MIME message we built (the EC in its PEC mail)."""
    parsed = email.message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    for part in parsed.walk():
        if part.get_filename() == name:
            data = part.get_payload(decode=True)
            return data if isinstance(data, bytes) else None
    return None
