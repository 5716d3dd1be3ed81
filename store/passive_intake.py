"""Passive intake use-cases: record a received file (deduplicated) and SdI's messages about it.

Duplicates are found by identity and content, never by file name (peers-sdi.md: the classic
bug): the same IdentificativoSdI or the same SHA-256 is the same file; the same seller VAT id +
year + number + type is the same invoice (SdI's 00404 key, domain.md §1.4). A duplicate
delivery is logged against what we already have; nothing is stored twice.

Rows come in as column-name dicts built by the applier (the store may not import handlers).
Session first, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_passive import (
    EsitoState,
    InvoiceAttachment,
    InvoiceLine,
    InvoiceParty,
    InvoicePayment,
    InvoiceSummary,
    PassiveEsito,
    PassiveSdiMessage,
    ReceivedDelivery,
    ReceivedFile,
    ReceivedInvoice,
)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """One body to store: its ``passive_invoice`` columns and its children's."""

    values: Row
    lines: Sequence[Row] = ()
    parties: Sequence[Row] = ()
    summaries: Sequence[Row] = ()
    payments: Sequence[Row] = ()
    attachments: Sequence[Row] = ()  # safe_name, original_name, sha256, size, formato, ...

    @property
    def identity(self) -> tuple[Any, ...]:
        """Seller id, year, number, type."""
        v = self.values
        return (v["seller_country"], v["seller_code"], v["anno"], v["numero"],
                v["tipo_documento"])


@dataclass(frozen=True, slots=True)
class Recorded:
    """What `record_file` did: the file the delivery landed on, and whether it was a duplicate."""

    file_id: int
    delivery_id: int
    duplicate: str | None
    invoice_ids: list[int] = field(default_factory=list)


async def _existing_file(session: AsyncSession, file: Row) -> tuple[ReceivedFile | None, str]:
    ident = file.get("identificativo_sdi")
    if ident:
        found = (await session.execute(
            select(ReceivedFile).where(ReceivedFile.identificativo_sdi == ident))).scalar()
        if found is not None:
            return found, f"same IdentificativoSdI {ident} (file {found.file_name})"
    found = (await session.execute(
        select(ReceivedFile).where(ReceivedFile.file_sha256 == file["file_sha256"]))).scalar()
    if found is not None:
        return found, f"same content (SHA-256) as file {found.file_name}"
    return None, ""


async def _existing_invoice(session: AsyncSession, inv: NewInvoice) -> ReceivedInvoice | None:
    country, code, anno, numero, tipo = inv.identity
    return (await session.execute(select(ReceivedInvoice).where(
        (ReceivedInvoice.seller_country == country) & (ReceivedInvoice.seller_code == code)
        & (ReceivedInvoice.anno == anno) & (ReceivedInvoice.numero == numero)
        & (ReceivedInvoice.tipo_documento == tipo)))).scalar()


async def _log_delivery(
    session: AsyncSession, file_id: int, delivery: Row, duplicate: str | None, now: datetime
) -> int:
    row = ReceivedDelivery(file_id=file_id, duplicate=duplicate, recorded_at=now, **delivery)
    session.add(row)
    await session.flush()
    return row.id


async def record_file(
    session: AsyncSession,
    *,
    file: Row,
    invoices: Sequence[NewInvoice],
    delivery: Row,
    now: datetime,
) -> Recorded:
    """Store a received file and its invoices once; log this delivery in every case."""
    existing, why = await _existing_file(session, file)
    if existing is not None:
        return Recorded(existing.id, await _log_delivery(session, existing.id, delivery, why, now),
                        why)
    fresh: list[NewInvoice] = []
    dups: list[tuple[NewInvoice, ReceivedInvoice]] = []
    for inv in invoices:
        old = await _existing_invoice(session, inv)
        if old is None:
            fresh.append(inv)
        else:
            dups.append((inv, old))
    why_inv = "; ".join(
        f"invoice {' '.join(map(str, inv.identity))} already received (invoice #{old.id})"
        for inv, old in dups) or None
    if not fresh:
        first = dups[0][1].file_id
        return Recorded(first, await _log_delivery(session, first, delivery, why_inv, now),
                        why_inv)
    row = ReceivedFile(created_at=now, **file)
    session.add(row)
    await session.flush()
    ids = []
    for inv in fresh:
        invoice = ReceivedInvoice(file_id=row.id, created_at=now, **inv.values)
        session.add(invoice)
        await session.flush()
        ids.append(invoice.id)
        for model, rows in ((InvoiceLine, inv.lines), (InvoiceParty, inv.parties),
                            (InvoiceSummary, inv.summaries), (InvoicePayment, inv.payments),
                            (InvoiceAttachment, inv.attachments)):
            session.add_all(model(invoice_id=invoice.id, **r) for r in rows)
    delivery_id = await _log_delivery(session, row.id, delivery, why_inv, now)
    return Recorded(row.id, delivery_id, why_inv, ids)


# --- SdI messages about received files (SE, DT) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdiMessageIn:
    """An SdI message as the applier hands it over (plain values from `SdiNotification`)."""

    type: str  # SE, DT, ...
    file_name: str  # the message file, e.g. IT..._SE_003.xml
    invoice_stem: str | None  # from the message file name
    nome_file: str | None
    identificativo_sdi: str | None
    sha256: str
    detail: str | None
    scarto: str | None = None  # SE: EN00 / EN01
    message_id_committente: str | None = None
    posizione: int | None = None  # RiferimentoFattura/PosizioneFattura (a lot)
    numero: str | None = None


async def find_file(session: AsyncSession, msg: SdiMessageIn) -> ReceivedFile | None:
    """The received file a message is about: by NomeFile, then IdentificativoSdI, then stem."""
    if msg.nome_file:
        found = (await session.execute(select(ReceivedFile).where(
            ReceivedFile.file_name == msg.nome_file))).scalar()
        if found is not None:
            return found
    if msg.identificativo_sdi:
        found = (await session.execute(select(ReceivedFile).where(
            ReceivedFile.identificativo_sdi == msg.identificativo_sdi))).scalar()
        if found is not None:
            return found
    if msg.invoice_stem:
        for ext in (".xml", ".xml.p7m", ".zip"):
            found = (await session.execute(select(ReceivedFile).where(
                ReceivedFile.file_name == msg.invoice_stem + ext))).scalar()
            if found is not None:
                return found
    return None


async def _targets(session: AsyncSession, file_id: int, msg: SdiMessageIn) -> list[int]:
    query = select(ReceivedInvoice.id).where(ReceivedInvoice.file_id == file_id)
    if msg.posizione is not None:
        query = query.where(ReceivedInvoice.position == msg.posizione)
    elif msg.numero is not None:
        query = query.where(ReceivedInvoice.numero == msg.numero)
    return list((await session.execute(query)).scalars())


async def record_sdi_message(
    session: AsyncSession, msg: SdiMessageIn, *, inbox_id: int | None, received_at: datetime
) -> bool:
    """Record an SdI message about a file we received; False when it is not one of ours.

    DT closes the EC window for the file (or one invoice of a lot): no EC is sent after it.
    SE marks the EC it answers (by MessageIdCommittente) as rejected with EN00/EN01, so the
    user sees that SdI did not forward it (domain.md §3.2-3.3). A repeated message is a no-op.
    """
    file = await find_file(session, msg)
    if file is None:
        return False
    seen = (await session.execute(select(PassiveSdiMessage.id).where(
        (PassiveSdiMessage.file_id == file.id) & (PassiveSdiMessage.sha256 == msg.sha256)
    ))).scalar()
    if seen is not None:
        return True
    session.add(PassiveSdiMessage(file_id=file.id, inbox_id=inbox_id, type=msg.type,
                                  file_name=msg.file_name, sha256=msg.sha256,
                                  detail=msg.detail, received_at=received_at))
    targets = await _targets(session, file.id, msg)
    if msg.type == "DT":
        if msg.posizione is None and msg.numero is None:
            file.dt_at = received_at
        if targets:
            await session.execute(update(ReceivedInvoice).where(
                ReceivedInvoice.id.in_(targets)).values(dt_at=received_at))
    elif msg.type == "SE":
        query = select(PassiveEsito).where(PassiveEsito.invoice_id.in_(targets or [-1]))
        if msg.message_id_committente:
            query = query.where(
                PassiveEsito.message_id_committente == msg.message_id_committente)
        esito = (await session.execute(query.order_by(PassiveEsito.id.desc()))).scalar()
        if esito is not None:
            esito.state = EsitoState.REJECTED
            esito.scarto = msg.scarto
            esito.scarto_note = msg.detail
    await session.flush()
    return True
