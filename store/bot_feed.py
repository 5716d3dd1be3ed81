"""The bot's invoice feeds: which supplier invoices, outcomes and reminders are still to tell.

Same pattern as the desk's feed (a durable to-do list the bot polls), with the bookkeeping in
``models_bot_invoices``: a thing is pending until a `BotFeedMark` says it was told. Each feed
keeps a floor (`BotFeedFloor`) so a pass reads only recent rows; the floor moves past a row
only once it is told *and* old enough that no slower transaction can still commit a lower id
(ids are allocated before commit, so on PostgreSQL a lower id may become visible late).
Session first, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_active import Invoice, InvoiceEvent
from store.models_bot_invoices import BotFeedFloor, BotFeedMark, BotSubscription
from store.models_parties import Party
from store.models_passive import InvoicePayment, ReceivedFile, ReceivedInvoice, ReviewState
from store.sql import insert_ignore

PASSIVE = "passive-card"
OUTCOME = "outcome"
SETTLE = timedelta(minutes=5)  # rows older than this can no longer appear below the floor
SCAN = 500  # rows read per pass and feed

#: Invoice states a subscriber hears about (SdI's answers and the PA's outcome).
OUTCOME_STATES = frozenset({
    "pec-refused", "pec-delivery-failed", "sdi-rejected", "delivered", "awaiting-outcome",
    "not-delivered-available", "delivery-pending", "attested", "accepted", "refused",
    "terms-expired",
})


async def _floor(
    session: AsyncSession, feed: str, id_col: Any, time_col: Any, now: datetime
) -> int:
    row = await session.get(BotFeedFloor, feed)
    if row is not None:
        return row.floor_id
    # First run: what is older than SETTLE predates the bot and is not announced (no flood of
    # history); what is newer is, so nothing that arrives while the bot starts is missed.
    top = int((await session.execute(select(func.coalesce(func.max(id_col), 0))
                                     .where(time_col < now - SETTLE))).scalar_one())
    await insert_ignore(session, BotFeedFloor.__table__,  # type: ignore[arg-type]
                        {"feed": feed, "floor_id": top, "updated_at": now})
    return top


async def _raise_floor(session: AsyncSession, feed: str, to: int, now: datetime) -> None:
    row = await session.get(BotFeedFloor, feed)
    if row is not None and to > row.floor_id:
        row.floor_id, row.updated_at = to, now


async def _marked(session: AsyncSession, feed: str, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = select(BotFeedMark.object_id).where(
        (BotFeedMark.feed == feed) & BotFeedMark.object_id.in_(list(ids)))
    return set((await session.execute(query)).scalars())


def _settled_floor(floor: int, rows: Sequence[tuple[int, datetime, bool]], now: datetime) -> int:
    """The highest id such that every scanned row up to it is done (told or not to tell) and
    older than `SETTLE`; ``rows`` are (id, time, still pending) in id order."""
    for object_id, at, pending in rows:
        if pending or at > now - SETTLE:
            break
        floor = object_id
    return floor


async def mark(
    session: AsyncSession, feed: str, object_id: int, *, now: datetime,
    chat_id: int | None = None, message_id: int | None = None,
) -> bool:
    """Record that ``object_id`` of ``feed`` was told (True if it was not yet)."""
    return await insert_ignore(session, BotFeedMark.__table__, {  # type: ignore[arg-type]
        "feed": feed, "object_id": object_id, "chat_id": chat_id, "message_id": message_id,
        "at": now})


async def get_mark(session: AsyncSession, feed: str, object_id: int) -> BotFeedMark | None:
    """The mark of ``object_id`` (e.g. where its approval card is), or None."""
    return await session.get(BotFeedMark, (feed, object_id))


# --- supplier invoices to approve ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewPassive:
    """A supplier invoice to put before the approvers."""

    invoice: ReceivedInvoice
    file: ReceivedFile
    due: date | None  # the earliest payment due date


async def pending_passive(session: AsyncSession, *, now: datetime) -> list[NewPassive]:
    """Supplier invoices still to review that have no approval card yet, oldest first."""
    floor = await _floor(session, PASSIVE, ReceivedInvoice.id, ReceivedInvoice.created_at,
                         now)
    rows = (await session.execute(
        select(ReceivedInvoice, ReceivedFile)
        .join(ReceivedFile, ReceivedFile.id == ReceivedInvoice.file_id)
        .where(ReceivedInvoice.id > floor).order_by(ReceivedInvoice.id).limit(SCAN))).all()
    told = await _marked(session, PASSIVE, [inv.id for inv, _ in rows])
    todo = [(inv, f) for inv, f in rows
            if inv.id not in told and inv.state is ReviewState.TO_REVIEW]
    pending = {inv.id for inv, _ in todo}
    await _raise_floor(session, PASSIVE, _settled_floor(
        floor, [(inv.id, inv.created_at, inv.id in pending) for inv, _ in rows], now), now)
    dues = await due_dates(session, [inv.id for inv, _ in todo])
    return [NewPassive(inv, f, dues.get(inv.id)) for inv, f in todo]


async def due_dates(session: AsyncSession, invoice_ids: Sequence[int]) -> dict[int, date]:
    """The earliest payment due date of each invoice that has one."""
    if not invoice_ids:
        return {}
    rows = (await session.execute(
        select(InvoicePayment.invoice_id, func.min(InvoicePayment.scadenza))
        .where(InvoicePayment.invoice_id.in_(list(invoice_ids))
               & InvoicePayment.scadenza.is_not(None))
        .group_by(InvoicePayment.invoice_id))).all()
    return {i: d for i, d in rows if d is not None}


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A PA invoice still to review whose EC deadline is near."""

    invoice: ReceivedInvoice
    file: ReceivedFile
    kind: str  # the threshold reached, e.g. "2d" (one reminder per threshold)
    card: BotFeedMark | None  # its approval card, to reply to


def _kind(threshold: timedelta) -> str:
    hours = int(threshold.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


async def reminders_due(
    session: AsyncSession, *, now: datetime, before: Sequence[timedelta]
) -> list[DueReminder]:
    """PA invoices to review, EC window open, within a threshold not reminded in chat yet.

    Only the tightest threshold reached counts, so a bot that was down (or a desk that was
    closed) for days sends one reminder, not one per missed threshold.
    """
    if not before:
        return []
    rows = (await session.execute(
        select(ReceivedInvoice, ReceivedFile)
        .join(ReceivedFile, ReceivedFile.id == ReceivedInvoice.file_id)
        .where(ReceivedFile.ec_required & ReceivedFile.dt_at.is_(None)
               & ReceivedInvoice.dt_at.is_(None)
               & (ReceivedInvoice.state == ReviewState.TO_REVIEW)
               & (ReceivedFile.deadline > now)
               & (ReceivedFile.deadline <= now + max(before))))).all()
    due = []
    for inv, file in rows:
        assert file.deadline is not None
        kind = _kind(min(b for b in before if file.deadline - now <= b))
        if await get_mark(session, f"remind-{kind}", inv.id) is None:
            due.append(DueReminder(inv, file, kind, await get_mark(session, PASSIVE, inv.id)))
    return due


# --- outcomes of the invoices we sent ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """A state change of one of our invoices that subscribers hear about."""

    event: InvoiceEvent
    invoice: Invoice
    customer: Party


def party_name(p: Party) -> str:
    """A customer's name as people read it."""
    return p.denominazione or " ".join(x for x in (p.nome, p.cognome) if x) or p.key


async def pending_outcomes(session: AsyncSession, *, now: datetime) -> list[Outcome]:
    """Outcome events not told yet, oldest first."""
    floor = await _floor(session, OUTCOME, InvoiceEvent.id, InvoiceEvent.recorded_at, now)
    events = list((await session.execute(
        select(InvoiceEvent).where(InvoiceEvent.id > floor)
        .order_by(InvoiceEvent.id).limit(SCAN))).scalars())
    told = await _marked(session, OUTCOME, [e.id for e in events])
    todo = [e for e in events if e.id not in told and e.to_state in OUTCOME_STATES]
    pending = {e.id for e in todo}
    await _raise_floor(session, OUTCOME, _settled_floor(
        floor, [(e.id, e.recorded_at, e.id in pending) for e in events], now), now)
    out = []
    for e in todo:
        invoice = await session.get(Invoice, e.invoice_id)
        assert invoice is not None
        customer = await session.get(Party, invoice.customer_id)
        assert customer is not None
        out.append(Outcome(e, invoice, customer))
    return out


# --- who hears about outcomes --------------------------------------------------------------


async def subscribe(session: AsyncSession, telegram_id: int, *, now: datetime) -> bool:
    """Add a subscriber (True if new)."""
    return await insert_ignore(session, BotSubscription.__table__,  # type: ignore[arg-type]
                               {"telegram_id": telegram_id, "created_at": now})


async def unsubscribe(session: AsyncSession, telegram_id: int) -> bool:
    """Remove a subscriber (True if there was one)."""
    row = await session.get(BotSubscription, telegram_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def subscribers(session: AsyncSession) -> list[int]:
    """Telegram ids of the subscribers, in order."""
    query = select(BotSubscription.telegram_id).order_by(BotSubscription.telegram_id)
    return list((await session.execute(query)).scalars())
