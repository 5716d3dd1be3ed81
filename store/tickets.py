"""Support desk use-cases: open a ticket, work it through its states, and read its history.

Every change is one `TicketEvent` beside the ticket's new state: the history is the audit
trail, the SLA clock is recomputed from it (pauses while ``waiting-customer``), and events not
yet ``announced`` are the bot's durable to-do list. Mail threads by Message-ID: the event that
a mail carried in or out records it, so a reply finds its ticket and a redelivery adds nothing.
Functions take the session first and never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_bot import Ticket, TicketEvent


class Status(enum.StrEnum):
    """Ticket states; only ``waiting-customer`` stops the SLA clock (resolved/closed end it)."""

    NEW = "new"
    OPEN = "open"
    WAITING_CUSTOMER = "waiting-customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Area(enum.StrEnum):
    """Application areas a request is classified under (issue 9)."""

    ACTIVE = "active-invoicing"
    PASSIVE = "passive-invoicing"
    MESSAGING = "mass-messaging"
    ARCHIVE = "archive"
    OTHER = "other"


PRIORITIES = ("low", "normal", "high", "urgent")
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_CUSTOMER)
MAX_LEVEL = 3


class TicketError(ValueError):
    """The change is not allowed in the ticket's state; the message says why, for people."""


@dataclass(frozen=True, slots=True)
class NewTicket:
    """What a requester gave us."""

    origin: str  # "telegram" | "email"
    subject: str
    description: str
    area: str = Area.OTHER
    priority: str = "normal"
    requester_id: int | None = None
    requester_email: str | None = None
    requester_name: str = ""
    attachments: tuple[dict[str, object], ...] = ()
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """The result of a use-case: the ticket after it, and the event that recorded it."""

    ticket: Ticket
    event: TicketEvent
    created: bool = False
    extra: dict[str, object] = field(default_factory=dict)


async def get(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """Return one ticket."""
    return await session.get(Ticket, ticket_id)


async def _require(session: AsyncSession, ticket_id: int) -> Ticket:
    row = await session.get(Ticket, ticket_id, with_for_update=True)
    if row is None:
        raise TicketError(f"ticket #{ticket_id} does not exist")
    return row


async def _event(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    actor: str,
    *,
    now: datetime,
    body: str = "",
    internal: bool = False,
    data: dict[str, object] | None = None,
    message_id: str | None = None,
) -> TicketEvent:
    ticket.updated_at = now
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        kind=kind,
        actor=actor,
        internal=internal,
        body=body,
        status_after=ticket.status,
        data=data or {},
        message_id=message_id,
    )
    session.add(event)
    await session.flush()
    return event


async def open_ticket(
    session: AsyncSession, new: NewTicket, *, actor: str, now: datetime
) -> Change:
    """Open a ticket (idempotent on the opening mail's Message-ID)."""
    if new.area not in set(Area):
        raise TicketError(f"unknown area {new.area!r}")
    if new.priority not in PRIORITIES:
        raise TicketError(f"unknown priority {new.priority!r}")
    if new.message_id is not None and (seen := await by_message_id(session, new.message_id)):
        ticket = await _require(session, seen.ticket_id)
        return Change(ticket, seen)
    ticket = Ticket(
        origin=new.origin,
        requester_id=new.requester_id,
        requester_email=new.requester_email,
        requester_name=new.requester_name[:200],
        subject=(new.subject.strip() or "(no subject)")[:300],
        area=new.area,
        priority=new.priority,
        level=1,
        status=Status.NEW,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    data: dict[str, object] = {"attachments": list(new.attachments)} if new.attachments else {}
    event = await _event(
        session,
        ticket,
        "opened",
        actor,
        now=now,
        body=new.description,
        data=data,
        message_id=new.message_id,
    )
    return Change(ticket, event, created=True)


async def customer_message(
    session: AsyncSession,
    ticket_id: int,
    *,
    actor: str,
    body: str,
    now: datetime,
    attachments: Sequence[dict[str, object]] = (),
    message_id: str | None = None,
) -> Change:
    """Add the requester's message; it restarts the clock if we were waiting for them and
    reopens a resolved ticket. A closed ticket takes no more messages (the caller opens a
    follow-up)."""
    if message_id is not None and (seen := await by_message_id(session, message_id)):
        return Change(await _require(session, seen.ticket_id), seen)
    ticket = await _require(session, ticket_id)
    if ticket.status == Status.CLOSED:
        raise TicketError(f"ticket #{ticket_id} is closed")
    if ticket.status in (Status.WAITING_CUSTOMER, Status.RESOLVED):
        ticket.status = Status.OPEN
        ticket.resolved_at = None
    data: dict[str, object] = {"attachments": list(attachments)} if attachments else {}
    event = await _event(
        session,
        ticket,
        "customer-message",
        actor,
        now=now,
        body=body,
        data=data,
        message_id=message_id,
    )
    return Change(ticket, event)


def _active(ticket: Ticket, action: str) -> None:
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(f"ticket #{ticket.id} is {ticket.status}: cannot {action}")


async def assign(
    session: AsyncSession, ticket_id: int, assignee: int, *, actor: str, now: datetime
) -> Change:
    """Give the ticket to ``assignee`` (a take when the actor assigns it to themselves)."""
    ticket = await _require(session, ticket_id)
    _active(ticket, "assign")
    ticket.assignee_id = assignee
    if ticket.status == Status.NEW:
        ticket.status = Status.OPEN
    return Change(
        ticket,
        await _event(session, ticket, "assigned", actor, now=now, data={"assignee": assignee}),
    )


async def classify(
    session: AsyncSession,
    ticket_id: int,
    *,
    area: str | None = None,
    priority: str | None = None,
    actor: str,
    now: datetime,
) -> Change:
    """Set the area and/or the priority."""
    ticket = await _require(session, ticket_id)
    _active(ticket, "classify")
    if area is not None:
        if area not in set(Area):
            raise TicketError(f"unknown area {area!r}")
        ticket.area = area
    if priority is not None:
        if priority not in PRIORITIES:
            raise TicketError(f"unknown priority {priority!r}")
        ticket.priority = priority
    data: dict[str, object] = {
        k: v for k, v in (("area", area), ("priority", priority)) if v is not None
    }
    return Change(ticket, await _event(session, ticket, "classified", actor, now=now, data=data))


async def _public(
    session: AsyncSession, ticket: Ticket, kind: str, actor: str, body: str, now: datetime
) -> TicketEvent:
    if ticket.first_response_at is None:  # the first thing the requester hears from us
        ticket.first_response_at = now
    return await _event(session, ticket, kind, actor, now=now, body=body)


async def ask_customer(
    session: AsyncSession, ticket_id: int, question: str, *, actor: str, now: datetime
) -> Change:
    """Ask the requester something; the SLA clock stops until they answer."""
    ticket = await _require(session, ticket_id)
    _active(ticket, "ask the customer")
    ticket.status = Status.WAITING_CUSTOMER
    return Change(ticket, await _public(session, ticket, "question", actor, question, now))


async def escalate(
    session: AsyncSession, ticket_id: int, *, actor: str, reason: str = "", now: datetime
) -> Change:
    """Move the ticket one support level up (L1 -> L2 -> L3); it waits to be taken again."""
    ticket = await _require(session, ticket_id)
    _active(ticket, "escalate")
    if ticket.level >= MAX_LEVEL:
        raise TicketError(f"ticket #{ticket_id} is already at L{MAX_LEVEL}")
    ticket.level += 1
    ticket.assignee_id = None
    event = await _event(
        session,
        ticket,
        "escalated",
        actor,
        now=now,
        body=reason,
        internal=True,
        data={"level": ticket.level},
    )
    return Change(ticket, event)


async def note(
    session: AsyncSession, ticket_id: int, text: str, *, actor: str, now: datetime
) -> Change:
    """Add an internal note (never shown to the requester)."""
    ticket = await _require(session, ticket_id)
    return Change(
        ticket, await _event(session, ticket, "note", actor, now=now, body=text, internal=True)
    )


async def resolve(
    session: AsyncSession, ticket_id: int, solution: str, *, actor: str, now: datetime
) -> Change:
    """Record the solution; the caller sends it to the requester."""
    ticket = await _require(session, ticket_id)
    _active(ticket, "resolve")
    ticket.status = Status.RESOLVED
    ticket.resolved_at = now
    return Change(ticket, await _public(session, ticket, "resolved", actor, solution, now))


async def close(session: AsyncSession, ticket_id: int, *, actor: str, now: datetime) -> Change:
    """Close a ticket (from any state but closed)."""
    ticket = await _require(session, ticket_id)
    if ticket.status == Status.CLOSED:
        raise TicketError(f"ticket #{ticket_id} is already closed")
    ticket.status = Status.CLOSED
    ticket.closed_at = now
    return Change(ticket, await _event(session, ticket, "closed", actor, now=now))


async def reopen(
    session: AsyncSession, ticket_id: int, *, actor: str, reason: str = "", now: datetime
) -> Change:
    """Reopen a resolved or closed ticket; the resolution clock runs again."""
    ticket = await _require(session, ticket_id)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise TicketError(f"ticket #{ticket_id} is {ticket.status}: nothing to reopen")
    ticket.status = Status.OPEN
    ticket.resolved_at = ticket.closed_at = None
    return Change(ticket, await _event(session, ticket, "reopened", actor, now=now, body=reason))


async def record_sla(
    session: AsyncSession, ticket_id: int, kind: str, *, key: str, body: str, now: datetime
) -> bool:
    """Record an SLA warning or breach once per ``key`` (False: already recorded)."""
    ticket = await _require(session, ticket_id)
    marker = f"<sla.{ticket_id}.{key}@pecora.desk>"
    if await by_message_id(session, marker) is not None:
        return False
    await _event(
        session, ticket, kind, "system", now=now, body=body, internal=True, message_id=marker
    )
    return True


async def history(
    session: AsyncSession, ticket_id: int, *, internal: bool = True
) -> list[TicketEvent]:
    """Return the ticket's events, oldest first (without internal ones for a requester)."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if not internal:
        query = query.where(TicketEvent.internal.is_(False))
    return list((await session.execute(query.order_by(TicketEvent.id))).scalars())


async def status_history(
    session: AsyncSession, ticket_ids: Sequence[int]
) -> dict[int, list[tuple[datetime, str]]]:
    """Return (when, status after) per ticket, oldest first: the SLA clock's input."""
    out: dict[int, list[tuple[datetime, str]]] = {t: [] for t in ticket_ids}
    if not ticket_ids:
        return out
    rows = await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.status_after)
        .where(TicketEvent.ticket_id.in_(list(ticket_ids)))
        .order_by(TicketEvent.id)
    )
    for ticket_id, at, status in rows.all():
        out[ticket_id].append((at, status))
    return out


async def by_message_id(session: AsyncSession, message_id: str) -> TicketEvent | None:
    """Return the event a mail with ``message_id`` carried (in or out)."""
    query = select(TicketEvent).where(TicketEvent.message_id == message_id)
    return (await session.execute(query)).scalar_one_or_none()


async def thread_of(session: AsyncSession, message_ids: Sequence[str]) -> int | None:
    """Return the ticket a reply belongs to, from its In-Reply-To / References ids."""
    if not message_ids:
        return None
    query = (
        select(TicketEvent.ticket_id)
        .where(TicketEvent.message_id.in_(list(message_ids)))
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def thread_ids(session: AsyncSession, ticket_id: int) -> list[str]:
    """Return the Message-IDs of the ticket's mail, oldest first (for ``References``)."""
    query = (
        select(TicketEvent.message_id)
        .where((TicketEvent.ticket_id == ticket_id) & TicketEvent.message_id.like("<%"))
        .where(TicketEvent.kind.not_in(["sla-warning", "sla-breach"]))
        .order_by(TicketEvent.id)
    )
    return [m for m in (await session.execute(query)).scalars() if m]


async def set_message_id(session: AsyncSession, event_id: int, message_id: str) -> None:
    """Remember the Message-ID of the mail that carried an event out to the requester."""
    event = await session.get(TicketEvent, event_id)
    if event is not None:
        event.message_id = message_id
        await session.flush()


async def set_card(session: AsyncSession, ticket_id: int, chat_id: int, message_id: int) -> None:
    """Remember where the ticket's triage card is, so actions edit it in place."""
    ticket = await _require(session, ticket_id)
    ticket.card_chat_id, ticket.card_message_id = chat_id, message_id
    await session.flush()


async def listing(
    session: AsyncSession,
    *,
    statuses: Sequence[str] = ACTIVE_STATUSES,
    requester_id: int | None = None,
    assignee_id: int | None = None,
    max_level: int | None = None,
    limit: int = 30,
) -> list[Ticket]:
    """Return tickets in ``statuses``, oldest first, filtered as asked."""
    query = select(Ticket).where(Ticket.status.in_(list(statuses)))
    if requester_id is not None:
        query = query.where(Ticket.requester_id == requester_id)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if max_level is not None:
        query = query.where(Ticket.level <= max_level)
    return list((await session.execute(query.order_by(Ticket.id).limit(limit))).scalars())


async def unannounced(session: AsyncSession, *, limit: int = 50) -> list[TicketEvent]:
    """Return events the bot has not told anyone about yet, oldest first."""
    query = (
        select(TicketEvent)
        .where(TicketEvent.announced_at.is_(None))
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def mark_announced(session: AsyncSession, event_id: int, *, now: datetime) -> None:
    """Mark one event as told."""
    event = await session.get(TicketEvent, event_id)
    if event is not None:
        event.announced_at = now
        await session.flush()
