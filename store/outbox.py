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

from sqlalchemy import func, select, update
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
    """Claim up to ``limit`` items that are due, oldest first, and mark them ``sending``."""
    query = (
        select(OutboxItem)
        .where(
            OutboxItem.state.in_([OutboxState.QUEUED, OutboxState.RETRY])
            & (OutboxItem.next_attempt_at <= now)
        )
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if channels is not None:
        query = query.where(OutboxItem.channel.in_(list(channels)))
    rows = list((await session.execute(query)).scalars().all())
    for row in rows:
        row.state = OutboxState.SENDING
        row.claimed_by = worker
        row.claimed_at = now
        row.updated_at = now
    await session.flush()
    return rows


async def _record_attempt(
    session: AsyncSession,
    outbox_id: int,
    state: OutboxState,
    detail: str,
    now: datetime,
    **values: object,
) -> None:
    """Count one attempt: move the item to ``state`` and log the attempt beside it."""
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(
            state=state,
            attempts=OutboxItem.attempts + 1,
            claimed_by=None,
            updated_at=now,
            **values,
        )
    )
    session.add(DeliveryAttempt(outbox_id=outbox_id, at=now, status=state.value, detail=detail))


async def mark_sent(
    session: AsyncSession, outbox_id: int, *, provider_ref: str | None, detail: str, now: datetime
) -> None:
    """Record a successful submission."""
    await _record_attempt(
        session,
        outbox_id,
        OutboxState.SENT,
        detail,
        now,
        provider_ref=provider_ref,
        sent_at=now,
        last_error=None,
    )


async def mark_retry(
    session: AsyncSession, outbox_id: int, *, next_at: datetime, detail: str, now: datetime
) -> None:
    """Record a temporary failure and when to try again."""
    await _record_attempt(
        session,
        outbox_id,
        OutboxState.RETRY,
        detail,
        now,
        next_attempt_at=next_at,
        last_error=detail,
    )


async def mark_failed(session: AsyncSession, outbox_id: int, *, detail: str, now: datetime) -> None:
    """Record a permanent failure (or a temporary one that ran out of time or attempts)."""
    await _record_attempt(session, outbox_id, OutboxState.FAILED, detail, now, last_error=detail)


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
) -> int:
    """Requeue items left ``sending`` by this worker's crash, or anyone's stale claim.

    ``exclude`` are items this worker is sending right now (a periodic recovery must not
    requeue them under its own feet). An item of a channel in ``hold`` is due again only at
    that time: long enough for the provider's receipt about an earlier submission to arrive.
    """
    query = select(OutboxItem.id, OutboxItem.channel).where(
        (OutboxItem.state == OutboxState.SENDING)
        & ((OutboxItem.claimed_by == worker) | (OutboxItem.claimed_at < now - stale_after))
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
