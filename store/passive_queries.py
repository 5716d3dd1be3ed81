"""Read side of passive invoicing: listings with filters, one invoice in full, due reminders.

Re-exported by ``store.passive`` (the module the CLI and the bot use). Session first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_passive import (
    InvoiceAttachment,
    InvoiceLine,
    InvoiceParty,
    InvoicePayment,
    InvoiceSummary,
    PassiveDecision,
    PassiveEsito,
    PassiveReminder,
    PassiveSdiMessage,
    ReceivedDelivery,
    ReceivedFile,
    ReceivedInvoice,
    ReviewState,
)


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of `listing`."""

    invoice: ReceivedInvoice
    file: ReceivedFile
    deliveries: int


async def listing(
    session: AsyncSession,
    *,
    state: ReviewState | None = None,
    supplier: str | None = None,
    since: date | None = None,
    until: date | None = None,
    deadline_within: timedelta | None = None,
    now: datetime | None = None,
    limit: int = 100,
) -> list[Listed]:
    """Received invoices, newest first. ``supplier`` matches the name or the VAT id;
    ``deadline_within`` keeps PA invoices still to review whose EC window ends that soon."""
    deliveries = (select(ReceivedDelivery.file_id, func.count().label("n"))
                  .group_by(ReceivedDelivery.file_id).subquery())
    query = (select(ReceivedInvoice, ReceivedFile, deliveries.c.n)
             .join(ReceivedFile, ReceivedFile.id == ReceivedInvoice.file_id)
             .join(deliveries, deliveries.c.file_id == ReceivedFile.id)
             .order_by(ReceivedInvoice.id.desc()).limit(limit))
    if state is not None:
        query = query.where(ReceivedInvoice.state == state)
    if supplier:
        like = f"%{supplier.lower()}%"
        query = query.where(
            func.lower(ReceivedInvoice.seller_name).like(like)
            | func.lower(ReceivedInvoice.seller_country + ReceivedInvoice.seller_code).like(like))
    if since is not None:
        query = query.where(ReceivedInvoice.data >= since)
    if until is not None:
        query = query.where(ReceivedInvoice.data <= until)
    if deadline_within is not None:
        if now is None:
            raise ValueError("deadline_within needs now")
        query = query.where(
            ReceivedFile.ec_required & ReceivedFile.dt_at.is_(None)
            & (ReceivedInvoice.state == ReviewState.TO_REVIEW)
            & (ReceivedFile.deadline <= now + deadline_within))
    rows = (await session.execute(query)).all()
    return [Listed(inv, file, n) for inv, file, n in rows]


@dataclass
class InvoiceDetail:
    """One received invoice with everything hanging off it (`pecora passive show`)."""

    invoice: ReceivedInvoice
    file: ReceivedFile
    lines: list[InvoiceLine] = field(default_factory=list)
    parties: list[InvoiceParty] = field(default_factory=list)
    summaries: list[InvoiceSummary] = field(default_factory=list)
    payments: list[InvoicePayment] = field(default_factory=list)
    attachments: list[InvoiceAttachment] = field(default_factory=list)
    decisions: list[PassiveDecision] = field(default_factory=list)
    esiti: list[PassiveEsito] = field(default_factory=list)
    messages: list[PassiveSdiMessage] = field(default_factory=list)
    deliveries: list[ReceivedDelivery] = field(default_factory=list)


async def detail(session: AsyncSession, invoice_id: int) -> InvoiceDetail | None:
    """Everything about one received invoice, or None."""
    inv = await session.get(ReceivedInvoice, invoice_id)
    if inv is None:
        return None
    file = await session.get(ReceivedFile, inv.file_id)
    assert file is not None

    async def rows(model: type, column: str, key: int) -> list:  # type: ignore[type-arg]
        return list((await session.execute(
            select(model).where(getattr(model, column) == key).order_by(model.id)  # type: ignore[attr-defined]
        )).scalars())

    return InvoiceDetail(
        invoice=inv, file=file,
        lines=await rows(InvoiceLine, "invoice_id", inv.id),
        parties=await rows(InvoiceParty, "invoice_id", inv.id),
        summaries=await rows(InvoiceSummary, "invoice_id", inv.id),
        payments=await rows(InvoicePayment, "invoice_id", inv.id),
        attachments=await rows(InvoiceAttachment, "invoice_id", inv.id),
        decisions=await rows(PassiveDecision, "invoice_id", inv.id),
        esiti=await rows(PassiveEsito, "invoice_id", inv.id),
        messages=await rows(PassiveSdiMessage, "file_id", file.id),
        deliveries=await rows(ReceivedDelivery, "file_id", file.id),
    )


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder to send: which invoice, which threshold (e.g. ``3d``), its deadline."""

    invoice: ReceivedInvoice
    file: ReceivedFile
    kind: str


async def reminders_due(
    session: AsyncSession, *, now: datetime, before: Sequence[timedelta]
) -> list[DueReminder]:
    """PA invoices still to review, window open, within a threshold not reminded yet.

    Only the tightest threshold reached is returned, so a daemon that was down for days
    sends one reminder, not one per missed threshold.
    """
    if not before:
        return []
    widest = max(before)
    rows = (await session.execute(
        select(ReceivedInvoice, ReceivedFile)
        .join(ReceivedFile, ReceivedFile.id == ReceivedInvoice.file_id)
        .where(ReceivedFile.ec_required & ReceivedFile.dt_at.is_(None)
               & ReceivedInvoice.dt_at.is_(None)
               & (ReceivedInvoice.state == ReviewState.TO_REVIEW)
               & (ReceivedFile.deadline > now) & (ReceivedFile.deadline <= now + widest))
    )).all()
    sent = {(i, k) for i, k in (await session.execute(
        select(PassiveReminder.invoice_id, PassiveReminder.kind))).all()}
    due = []
    for inv, file in rows:
        assert file.deadline is not None
        left = file.deadline - now
        reached = [b for b in before if left <= b]
        kind = _kind(min(reached))
        if (inv.id, kind) not in sent:
            due.append(DueReminder(inv, file, kind))
    return due


def _kind(threshold: timedelta) -> str:
    hours = int(threshold.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


async def mark_reminded(
    session: AsyncSession, invoice_id: int, kind: str, *, outbox_id: int | None, now: datetime
) -> None:
    """Record that the reminder ``kind`` went out for ``invoice_id``."""
    session.add(PassiveReminder(invoice_id=invoice_id, kind=kind, outbox_id=outbox_id, at=now))
    await session.flush()
