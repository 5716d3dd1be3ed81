"""Inbox use-cases: store a received message, claim work, finish it, recover after a crash.

Every function takes the caller's session first and never commits: the caller owns the
transaction (architecture convention 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InboxItem, InboxState
from store.sql import insert_ignore


@dataclass(frozen=True, slots=True)
class Received:
    """What an ingress adapter knows about a message it has archived."""

    source: str
    sha256: str
    size: int
    mailbox: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    envelope_from: str | None = None
    recipients: tuple[str, ...] = ()

    @property
    def dedupe_key(self) -> str:
        """The natural key: the same bytes from the same place are the same message."""
        return f"{self.source}:{self.mailbox or ''}:{self.sha256}"


@dataclass(frozen=True, slots=True)
class Put:
    """Result of `put`: the item id and whether this call created it."""

    item_id: int
    created: bool


async def put(session: AsyncSession, received: Received, *, now: datetime) -> Put:
    """Insert an inbox item for ``received`` unless it is already there (idempotent)."""
    created = await insert_ignore(
        session,
        InboxItem.__table__,  # type: ignore[arg-type]
        {
            "dedupe_key": received.dedupe_key,
            "source": received.source,
            "mailbox": received.mailbox,
            "uidvalidity": received.uidvalidity,
            "uid": received.uid,
            "sha256": received.sha256,
            "size": received.size,
            "envelope_from": received.envelope_from,
            "recipients": list(received.recipients),
            "received_at": now,
            "state": InboxState.QUEUED,
            "claim_count": 0,
            "deliveries": 1,
            "updated_at": now,
        },
    )
    item_id = (
        await session.execute(
            select(InboxItem.id).where(InboxItem.dedupe_key == received.dedupe_key)
        )
    ).scalar_one()
    if not created:
        # A redelivery: count it, so the operator can see it, but do not process it twice.
        await session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id)
            .values(deliveries=InboxItem.deliveries + 1, updated_at=now)
        )
    return Put(item_id, created)


async def claim(
    session: AsyncSession, worker: str, *, limit: int, now: datetime
) -> list[InboxItem]:
    """Claim up to ``limit`` queued items for ``worker``, oldest first.

    ``FOR UPDATE SKIP LOCKED`` lets several daemons on one PostgreSQL share the queue without
    waiting on each other; SQLite ignores it and relies on BEGIN IMMEDIATE instead.
    """
    rows = (
        (
            await session.execute(
                select(InboxItem)
                .where(InboxItem.state == InboxState.QUEUED)
                .order_by(InboxItem.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        row.state = InboxState.CLAIMED
        row.claim_count += 1
        row.claimed_by = worker
        row.claimed_at = now
        row.updated_at = now
    await session.flush()
    return list(rows)


async def finish(
    session: AsyncSession,
    item_id: int,
    state: InboxState,
    *,
    now: datetime,
    route: str | None = None,
    reason: str | None = None,
    traceback: str | None = None,
) -> None:
    """Move a claimed item to its final state with the route and reason that decided it."""
    await session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(
            state=state,
            processed_by=InboxItem.claimed_by,
            route=route,
            reason=reason,
            traceback=traceback,
            claimed_by=None,
            updated_at=now,
        )
    )


async def finish_many(
    session: AsyncSession,
    items: Sequence[tuple[int, str | None, str | None]],
    state: InboxState,
    *,
    now: datetime,
) -> None:
    """`finish` several items in one statement: ``(item id, route, reason)`` each."""
    if not items:
        return
    table = cast(Table, InboxItem.__table__)  # Core: one UPDATE executed per parameter set
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(
            state=state,
            processed_by=table.c.claimed_by,
            route=bindparam("item_route"),
            reason=bindparam("item_reason"),
            traceback=None,
            claimed_by=None,
            updated_at=now,
        ),
        [{"item_id": i, "item_route": route, "item_reason": reason} for i, route, reason in items],
    )


@dataclass(frozen=True, slots=True)
class Recovery:
    """What `recover` did: items put back in the queue and items declared poison."""

    requeued: int
    bad: int
    last_id: int | None = None  # the newest item this recovery touched


async def recover(
    session: AsyncSession,
    *,
    worker: str,
    max_claims: int,
    stale_after: timedelta,
    now: datetime,
) -> Recovery:
    """Requeue items this worker had claimed (or anyone's stale claims); poison ones go to bad.

    A runner claims a batch but processes it one item at a time in id order, so after a crash
    only the lowest claimed id of each claimer was in hand: the others never started, and
    their claim is not counted against them. An item whose processing crashed the daemon
    ``max_claims`` times is never retried by itself again (Mailman's MAX_BAK_COUNT): it waits
    in ``bad`` for an operator.
    """
    orphans = (
        (
            await session.execute(
                select(InboxItem)
                .where(
                    (InboxItem.state == InboxState.CLAIMED)
                    & (
                        (InboxItem.claimed_by == worker)
                        | (InboxItem.claimed_at < now - stale_after)
                    )
                )
                .order_by(InboxItem.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    in_hand: set[str | None] = set()
    requeued = bad = 0
    for item in orphans:
        if item.claimed_by in in_hand:
            item.claim_count = max(0, item.claim_count - 1)  # never started: not its fault
        in_hand.add(item.claimed_by)
        item.claimed_by, item.updated_at = None, now
        if item.claim_count >= max_claims:
            item.state = InboxState.BAD
            item.reason = f"processing crashed {item.claim_count} times: poison message"
            bad += 1
        else:
            item.state = InboxState.QUEUED
            requeued += 1
    await session.flush()
    return Recovery(requeued=requeued, bad=bad, last_id=orphans[-1].id if orphans else None)


async def requeue(session: AsyncSession, item_id: int, *, now: datetime) -> bool:
    """Put a quarantined, shunted or bad item back in the queue (operator's decision)."""
    result = await session.execute(
        update(InboxItem)
        .where(
            (InboxItem.id == item_id)
            & InboxItem.state.in_([InboxState.QUARANTINED, InboxState.SHUNTED, InboxState.BAD])
        )
        .values(state=InboxState.QUEUED, claim_count=0, reason=None, traceback=None, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get(session: AsyncSession, item_id: int) -> InboxItem | None:
    """Return one inbox item by id."""
    return await session.get(InboxItem, item_id)


async def listing(
    session: AsyncSession, *, states: Sequence[InboxState] = (), limit: int = 50
) -> list[InboxItem]:
    """Return the newest items, optionally only in ``states``."""
    query = select(InboxItem).order_by(InboxItem.id.desc()).limit(limit)
    if states:
        query = query.where(InboxItem.state.in_(list(states)))
    return list((await session.execute(query)).scalars().all())


async def depths(session: AsyncSession) -> dict[InboxState, int]:
    """Return the number of items in each state (absent states count zero)."""
    rows = await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
    counts = {state: 0 for state in InboxState}
    for state, count in rows.all():
        counts[InboxState(state)] = count
    return counts


async def oldest_queued(session: AsyncSession) -> datetime | None:
    """Return when the oldest still-queued item was received (queue age for metrics)."""
    return (
        await session.execute(
            select(func.min(InboxItem.received_at)).where(InboxItem.state == InboxState.QUEUED)
        )
    ).scalar_one_or_none()


async def unclaim(session: AsyncSession, item_ids: Sequence[int], *, now: datetime) -> None:
    """Give back claimed items that were never started (shutdown mid-batch): no claim counted."""
    if not item_ids:
        return
    await session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_(list(item_ids)) & (InboxItem.state == InboxState.CLAIMED))
        .values(
            state=InboxState.QUEUED,
            claim_count=InboxItem.claim_count - 1,
            claimed_by=None,
            updated_at=now,
        )
    )
