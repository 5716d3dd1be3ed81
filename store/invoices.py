"""Invoice use-cases: number, create, transmit, list, show (session first, never commit).

Numbers come from `counters` (per seller, register and year: monotonic, never reused) and so do
file progressives (one counter for all our files: SdI refuses a name it has ever seen, 00002,
domain.md §2). The caller builds, validates and signs the file (pure code in handlers) and
hands the store plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import counters
from store.invoice_tracking import add_event
from store.models_active import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceState,
    InvoiceTransmission,
)
from store.models_parties import Party

FILE_COUNTER = "sdi-file-progressive"


async def allocate_number(session: AsyncSession, seller_id: int, register: str, year: int) -> int:
    """The next invoice number of ``register`` in ``year`` for the seller (starts at 1)."""
    return await counters.allocate(session, f"invoice:{seller_id}:{register}:{year}")


async def allocate_progressive(session: AsyncSession) -> int:
    """The next file progressive (never reused: 00002)."""
    return await counters.allocate(session, FILE_COUNTER)


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """What `create` stores (the draft is kept to rebuild the XML on resend)."""

    seller_id: int
    customer_id: int
    register: str
    year: int
    number: int
    numero: str
    tipo_documento: str
    data: date
    formato: str
    pa: bool
    total: str
    description: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]]
    corrects_id: int | None = None
    auto_send: bool = False


async def create(session: AsyncSession, new: NewInvoice, *, now: datetime) -> Invoice:
    """Insert the invoice (state draft), its lines and a ``created`` event."""
    invoice = Invoice(
        seller_id=new.seller_id, customer_id=new.customer_id, register=new.register,
        year=new.year, number=new.number, numero=new.numero, tipo_documento=new.tipo_documento,
        data=new.data, formato=new.formato, pa=new.pa, divisa="EUR", total=new.total,
        description=dict(new.description), corrects_id=new.corrects_id,
        state=InvoiceState.DRAFT, state_at=now, auto_send=new.auto_send, created_at=now,
        updated_at=now,
    )
    session.add(invoice)
    await session.flush()
    for line in new.lines:
        session.add(InvoiceLine(invoice_id=invoice.id, **line))
    await add_event(session, invoice_id=invoice.id, dedupe_key=f"op:created:{invoice.id}",
                    source="op", kind="created", to_state=InvoiceState.DRAFT.value,
                    detail=f"{new.tipo_documento} {new.numero} del {new.data.isoformat()}",
                    occurred_at=now, now=now)
    return invoice


async def get(session: AsyncSession, invoice_id: int) -> Invoice | None:
    """The invoice with row id ``invoice_id``."""
    return await session.get(Invoice, invoice_id)


async def by_numero(session: AsyncSession, numero: str, *, seller_id: int | None = None,
                    year: int | None = None) -> Invoice | None:
    """The (newest) invoice written with ``numero`` (optionally of ``year`` / seller)."""
    query = select(Invoice).where(Invoice.numero == numero).order_by(Invoice.id.desc()).limit(1)
    if seller_id is not None:
        query = query.where(Invoice.seller_id == seller_id)
    if year is not None:
        query = query.where(Invoice.year == year)
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class NewTransmission:
    """One signed file, ready in the outbox."""

    file_name: str
    signature: str
    sha256: str
    size: int
    outbox_id: int
    message_id: str
    sdi_address: str


async def add_transmission(session: AsyncSession, invoice: Invoice, new: NewTransmission, *,
                           now: datetime) -> InvoiceTransmission:
    """Record the file sent for ``invoice`` and make it the current one (state queued)."""
    tx = InvoiceTransmission(
        invoice_id=invoice.id, file_name=new.file_name, signature=new.signature,
        sha256=new.sha256, size=new.size, outbox_id=new.outbox_id, message_id=new.message_id,
        sdi_address=new.sdi_address, state=InvoiceState.QUEUED, state_at=now, created_at=now,
    )
    session.add(tx)
    await session.flush()
    before = invoice.state.value
    invoice.transmission_id, invoice.state, invoice.state_at = tx.id, InvoiceState.QUEUED, now
    invoice.updated_at = now
    await add_event(session, invoice_id=invoice.id, transmission_id=tx.id,
                    dedupe_key=f"op:queued:{tx.file_name}", source="op", kind="queued",
                    detail=f"{new.file_name} ({new.signature}) to {new.sdi_address}",
                    from_state=before, to_state=InvoiceState.QUEUED.value,
                    archive_sha256=new.sha256, archive_name=new.file_name, occurred_at=now,
                    now=now)
    return tx


async def transmissions(session: AsyncSession, invoice_id: int) -> list[InvoiceTransmission]:
    """Every file sent for the invoice, oldest first."""
    return list((await session.execute(
        select(InvoiceTransmission).where(InvoiceTransmission.invoice_id == invoice_id)
        .order_by(InvoiceTransmission.id))).scalars())


async def lines(session: AsyncSession, invoice_id: int) -> list[InvoiceLine]:
    """The invoice's lines in order."""
    return list((await session.execute(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
        .order_by(InvoiceLine.numero_linea))).scalars())


async def history(session: AsyncSession, invoice_id: int) -> list[InvoiceEvent]:
    """Every event of the invoice, in the order it was recorded."""
    return list((await session.execute(
        select(InvoiceEvent).where(InvoiceEvent.invoice_id == invoice_id)
        .order_by(InvoiceEvent.id))).scalars())


@dataclass(frozen=True, slots=True)
class Row:
    """One line of `pecora invoice list`."""

    invoice: Invoice
    customer: Party
    transmission: InvoiceTransmission | None
    last_event: InvoiceEvent | None


async def listing(
    session: AsyncSession,
    *,
    states: Sequence[InvoiceState] = (),
    customer_key: str | None = None,
    since: date | None = None,
    until: date | None = None,
    pa: bool | None = None,
    auto_send: bool | None = None,
    limit: int = 100,
) -> list[Row]:
    """Invoices, newest first, with their customer, current file and last event."""
    query = (select(Invoice, Party).join(Party, Party.id == Invoice.customer_id)
             .order_by(Invoice.id.desc()).limit(limit))
    if states:
        query = query.where(Invoice.state.in_(list(states)))
    if customer_key:
        query = query.where(Party.key == customer_key)
    if since:
        query = query.where(Invoice.data >= since)
    if until:
        query = query.where(Invoice.data <= until)
    if pa is not None:
        query = query.where(Invoice.pa == pa)
    if auto_send is not None:
        query = query.where(Invoice.auto_send == auto_send)
    rows = (await session.execute(query)).all()
    ids = [inv.id for inv, _ in rows]
    last: dict[int, InvoiceEvent] = {}
    if ids:
        newest = (select(func.max(InvoiceEvent.id)).where(InvoiceEvent.invoice_id.in_(ids))
                  .group_by(InvoiceEvent.invoice_id))
        for event in (await session.execute(
                select(InvoiceEvent).where(InvoiceEvent.id.in_(newest)))).scalars():
            last[event.invoice_id] = event
    tx_ids = [inv.transmission_id for inv, _ in rows if inv.transmission_id]
    txs = {}
    if tx_ids:
        txs = {t.id: t for t in (await session.execute(
            select(InvoiceTransmission).where(InvoiceTransmission.id.in_(tx_ids)))).scalars()}
    return [
        Row(inv, party, txs.get(inv.transmission_id or -1), last.get(inv.id))
        for inv, party in rows
    ]
