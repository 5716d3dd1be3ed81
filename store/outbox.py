"""Outbox use-cases: enqueue a final payload, claim due items, record each delivery outcome.

The outbox row is the transactional outbox: it is written in the same transaction as the
decision that caused it, and only the outbox runner reads it to send.

An item left ``sending`` by a crash may or may not have reached the provider. For PEC the
provider answers every submission it took with a receipt naming our fixed Message-ID, so
`recover` can hold such items back (``hold``) and `acknowledged` tells which of them the
provider already took: those are recorded ``sent`` instead of being submitted again (see
`daemon.runners.outbox`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import DeliveryAttempt, OutboxItem, OutboxState, PecReceipt
from store.sql import insert_ignore


@dataclass(frozen=True, slots=True)
class NewOutgoing:
    """An outbound payload ready to go: its bytes and identity never change after this."""

    channel: str
    payload: bytes
    recipients: tuple[str, ...]
    idempotency_key: str
    sender: str | None = None
    message_id: str | None = None
    subject_ref: str | None = None
    deliver_until: datetime | None = None


async def enqueue(session: AsyncSession, item: NewOutgoing, *, now: datetime) -> int:
    """Insert an outbox row (idempotent on ``idempotency_key``) and return its id."""
    await insert_ignore(
        session,
        OutboxItem.__table__,  # type: ignore[arg-type]
        {
            "channel": item.channel,
            "idempotency_key": item.idempotency_key,
            "message_id": item.message_id,
            "sender": item.sender,
            "recipients": list(item.recipients),
            "payload": item.payload,
            "subject_ref": item.subject_ref,
            "state": OutboxState.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "deliver_until": item.deliver_until,
            "created_at": now,
            "updated_at": now,
        },
    )
    return (
        await session.execute(
            select(OutboxItem.id).where(OutboxItem.idempotency_key == item.idempotency_key)
        )
    ).scalar_one()


async def claim_due(
    session: AsyncSession,
    worker: str,
    *,
    limit: int,
    now: datetime,
    channels: Sequence[str] | None = None,
) -> list[OutboxItem]:
    """Claim up to ``limit`` items that are due, oldest first, and mark them ``sending``.

    One statement, whatever ``limit`` is: UPDATE of the ids a locking subquery picks,
    RETURNING the rows (on PostgreSQL the subquery's SKIP LOCKED keeps two nodes' claims
    apart; SQLite has a single writer).
    """
    due = (
        select(OutboxItem.id)
        .where(
            OutboxItem.state.in_([OutboxState.QUEUED, OutboxState.RETRY])
            & (OutboxItem.next_attempt_at <= now)
        )
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channels is not None:
        due = due.where(OutboxItem.channel.in_(list(channels)))
    claim = (
        update(OutboxItem)
        .where(OutboxItem.id.in_(due.scalar_subquery()))
        .values(state=OutboxState.SENDING, claimed_by=worker, claimed_at=now, updated_at=now)
        .returning(OutboxItem)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list((await session.execute(claim)).scalars().all())
    # RETURNING comes in no particular order; the runner sends oldest first.
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    return rows


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt at an item, as the runner decided to record it."""

    outbox_id: int
    state: OutboxState  # SENT, RETRY or FAILED
    detail: str
    provider_ref: str | None = None
    next_attempt_at: datetime | None = None  # RETRY: when it is due again


# One statement per outcome kind, run once with every row of that kind (executemany): a
# campaign records hundreds of outcomes at a time, and a statement per row would be a round
# trip (and on SQLite a thread hop) per message.
def _mark(state: OutboxState, **values: Any) -> Any:
    """UPDATE of one item (``b_id``) to ``state``, counting an attempt made at ``b_now``."""
    return (
        update(OutboxItem)
        .where(OutboxItem.id == bindparam("b_id"))
        .values(
            state=state,
            attempts=OutboxItem.attempts + 1,
            claimed_by=None,
            updated_at=bindparam("b_now"),
            **values,
        )
    )


_MARK = {
    OutboxState.SENT: _mark(
        OutboxState.SENT,
        provider_ref=bindparam("b_ref"),
        sent_at=bindparam("b_now"),
        last_error=None,
    ),
    OutboxState.RETRY: _mark(
        OutboxState.RETRY, next_attempt_at=bindparam("b_next"), last_error=bindparam("b_detail")
    ),
    OutboxState.FAILED: _mark(OutboxState.FAILED, last_error=bindparam("b_detail")),
}


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, now: datetime
) -> None:
    """Count one attempt per outcome: move each item to its state, log the attempts beside."""
    if not outcomes:
        return
    conn = await session.connection()  # Core executemany: no ORM objects per row
    for state, stmt in _MARK.items():
        params = [
            {
                "b_id": o.outbox_id,
                "b_now": now,
                "b_ref": o.provider_ref,
                "b_next": o.next_attempt_at,
                "b_detail": o.detail,
            }
            for o in outcomes
            if o.state is state
        ]
        if params:
            await conn.execute(stmt, params)
    await conn.execute(
        insert(DeliveryAttempt),
        [
            {"outbox_id": o.outbox_id, "at": now, "status": o.state.value, "detail": o.detail}
            for o in outcomes
        ],
    )


async def mark_sent(
    session: AsyncSession, outbox_id: int, *, provider_ref: str | None, detail: str, now: datetime
) -> None:
    """Record a successful submission."""
    await record_outcomes(
        session, [Outcome(outbox_id, OutboxState.SENT, detail, provider_ref)], now=now
    )


async def mark_retry(
    session: AsyncSession, outbox_id: int, *, next_at: datetime, detail: str, now: datetime
) -> None:
    """Record a temporary failure and when to try again."""
    await record_outcomes(
        session, [Outcome(outbox_id, OutboxState.RETRY, detail, next_attempt_at=next_at)], now=now
    )


async def mark_failed(session: AsyncSession, outbox_id: int, *, detail: str, now: datetime) -> None:
    """Record a permanent failure (or a temporary one that ran out of time or attempts)."""
    await record_outcomes(session, [Outcome(outbox_id, OutboxState.FAILED, detail)], now=now)


async def release(
    session: AsyncSession,
    outbox_ids: Sequence[int],
    *,
    detail: str,
    next_at: datetime,
    now: datetime,
) -> None:
    """Put items back unchanged after a connection-level failure: no attempt is counted."""
    if not outbox_ids:
        return
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(list(outbox_ids)))
        .values(
            state=OutboxState.QUEUED,
            next_attempt_at=next_at,
            claimed_by=None,
            last_error=detail,
            updated_at=now,
        )
    )


async def recover(
    session: AsyncSession,
    *,
    worker: str,
    stale_after: timedelta,
    now: datetime,
    exclude: Collection[int] = (),
    hold: Mapping[str, datetime] | None = None,
    claimed_before: datetime | None = None,
) -> int:
    """Requeue items left ``sending`` by this worker's crash, or anyone's stale claim.

    ``claimed_before`` is when this run of the worker started: its own claims since then are
    not a crash's leftovers but sends in progress, and ``exclude`` are items it is sending
    right now (a periodic recovery must not requeue them under its own feet; ``exclude``
    alone is not enough, as a claim can commit between the caller reading its in-flight set
    and this query). An item of a channel in ``hold`` is due again only at that time: long
    enough for the provider's receipt about an earlier submission to arrive.
    """
    mine = OutboxItem.claimed_by == worker
    if claimed_before is not None:
        mine &= OutboxItem.claimed_at < claimed_before
    query = select(OutboxItem.id, OutboxItem.channel).where(
        (OutboxItem.state == OutboxState.SENDING)
        & (mine | (OutboxItem.claimed_at < now - stale_after))
    )
    if exclude:
        query = query.where(OutboxItem.id.not_in(list(exclude)))
    by_channel: dict[str, list[int]] = {}
    for item_id, channel in (await session.execute(query)).all():
        by_channel.setdefault(channel, []).append(item_id)
    for channel, ids in by_channel.items():
        values: dict[str, object] = {
            "state": OutboxState.QUEUED,
            "claimed_by": None,
            "updated_at": now,
        }
        if hold and channel in hold:
            values["next_attempt_at"] = hold[channel]
        await session.execute(
            update(OutboxItem)
            .where((OutboxItem.id.in_(ids)) & (OutboxItem.state == OutboxState.SENDING))
            .values(**values)
        )
    return sum(len(ids) for ids in by_channel.values())


async def acknowledged(session: AsyncSession, outbox_ids: Sequence[int]) -> dict[int, str]:
    """The items among ``outbox_ids`` that a provider receipt names, with the receipt's type
    (``accettazione`` preferred): the provider took them, whatever our row says."""
    if not outbox_ids:
        return {}
    rows = await session.execute(
        select(PecReceipt.outbox_id, PecReceipt.receipt_type)
        .where(PecReceipt.outbox_id.in_(list(outbox_ids)))
        .order_by(PecReceipt.id)
    )
    found: dict[int, str] = {}
    for outbox_id, receipt_type in rows.all():
        if outbox_id is not None and found.get(outbox_id) != "accettazione":
            found[outbox_id] = receipt_type
    return found


async def by_message_id(session: AsyncSession, message_id: str) -> OutboxItem | None:
    """Return the outbox item that was sent with ``message_id`` (PEC receipt correlation)."""
    return (
        await session.execute(select(OutboxItem).where(OutboxItem.message_id == message_id))
    ).scalar_one_or_none()


async def listing(
    session: AsyncSession, *, states: Sequence[OutboxState] = (), limit: int = 50
) -> list[OutboxItem]:
    """Return the newest items, optionally only in ``states``."""
    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if states:
        query = query.where(OutboxItem.state.in_(list(states)))
    return list((await session.execute(query)).scalars().all())


async def depths(session: AsyncSession) -> dict[OutboxState, int]:
    """Return the number of items in each state."""
    rows = await session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state))
    counts = {state: 0 for state in OutboxState}
    for state, count in rows.all():
        counts[OutboxState(state)] = count
    return counts


async def next_due(session: AsyncSession) -> datetime | None:
    """Return when the next queued or retrying item falls due (for the runner's sleep)."""
    return (
        await session.execute(
            select(func.min(OutboxItem.next_attempt_at)).where(
                OutboxItem.state.in_([OutboxState.QUEUED, OutboxState.RETRY])
            )
        )
    ).scalar_one_or_none()
