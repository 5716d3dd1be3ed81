"""Inbox store functions on SQLite and PostgreSQL: idempotent put, claim, finish, recovery."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import inbox
from store.clock import utcnow
from store.models import InboxState


def _received(n: int, **kw: object) -> inbox.Received:
    return inbox.Received(source="lmtp", sha256=f"{n:064x}", size=10 + n, **kw)  # type: ignore[arg-type]


async def test_put_is_idempotent_and_counts_redeliveries(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        first = await inbox.put(s, _received(1), now=now)
    async with sessions() as s, s.begin():
        again = await inbox.put(s, _received(1), now=now)
        other = await inbox.put(s, _received(2), now=now)
    assert first.created and not again.created and other.created
    assert first.item_id == again.item_id != other.item_id
    async with sessions() as s:
        item = await inbox.get(s, first.item_id)
        assert item is not None and item.deliveries == 2 and item.state is InboxState.QUEUED
        assert item.received_at.tzinfo is not None


async def test_claim_takes_oldest_first_and_only_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        ids = [(await inbox.put(s, _received(n), now=now)).item_id for n in range(5)]
    async with sessions() as s, s.begin():
        first = await inbox.claim(s, "node-a", limit=3, now=now)
    async with sessions() as s, s.begin():
        second = await inbox.claim(s, "node-b", limit=3, now=now)
    assert [i.id for i in first] == ids[:3]
    assert [i.id for i in second] == ids[3:]
    assert all(i.claim_count == 1 and i.state is InboxState.CLAIMED for i in first + second)


async def test_finish_and_requeue(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        item_id = (await inbox.put(s, _received(1), now=now)).item_id
        await inbox.claim(s, "w", limit=1, now=now)
        await inbox.finish(
            s, item_id, InboxState.QUARANTINED, route="unknown", reason="not PEC", now=now
        )
    async with sessions() as s, s.begin():
        assert (await inbox.depths(s))[InboxState.QUARANTINED] == 1
        assert await inbox.requeue(s, item_id, now=now)
        assert not await inbox.requeue(s, item_id, now=now)  # already queued: nothing to do
    async with sessions() as s:
        item = await inbox.get(s, item_id)
        assert item is not None and item.state is InboxState.QUEUED and item.claim_count == 0


async def test_recovery_requeues_and_poison_goes_bad(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        item_id = (await inbox.put(s, _received(1), now=now)).item_id
    for _ in range(2):
        async with sessions() as s, s.begin():
            assert await inbox.claim(s, "w", limit=1, now=now)
        async with sessions() as s, s.begin():
            rec = await inbox.recover(
                s, worker="w", max_claims=3, stale_after=timedelta(minutes=5), now=now
            )
            assert (rec.requeued, rec.bad) == (1, 0)
    async with sessions() as s, s.begin():
        assert await inbox.claim(s, "w", limit=1, now=now)
    async with sessions() as s, s.begin():
        rec = await inbox.recover(
            s, worker="w", max_claims=3, stale_after=timedelta(minutes=5), now=now
        )
        assert (rec.requeued, rec.bad) == (0, 1)
    async with sessions() as s:
        item = await inbox.get(s, item_id)
        assert item is not None and item.state is InboxState.BAD
        assert "poison" in (item.reason or "")


async def test_recovery_leaves_a_live_peers_claims_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        await inbox.put(s, _received(1), now=now)
        await inbox.claim(s, "peer", limit=1, now=now)
    async with sessions() as s, s.begin():
        rec = await inbox.recover(
            s, worker="me", max_claims=3, stale_after=timedelta(minutes=5), now=now
        )
    assert (rec.requeued, rec.bad) == (0, 0)
    async with sessions() as s, s.begin():
        rec = await inbox.recover(
            s,
            worker="me",
            max_claims=3,
            stale_after=timedelta(minutes=5),
            now=now + timedelta(minutes=6),
        )
    assert rec.requeued == 1


async def test_recovery_blames_only_the_item_in_hand(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        ids = [(await inbox.put(s, _received(n), now=now)).item_id for n in range(3)]
    for _ in range(3):  # three crashes, each while the first item of the batch was in hand
        async with sessions() as s, s.begin():
            assert len(await inbox.claim(s, "w", limit=3, now=now)) == 3
        async with sessions() as s, s.begin():
            await inbox.recover(
                s, worker="w", max_claims=3, stale_after=timedelta(minutes=5), now=now
            )
    async with sessions() as s:
        states = [(await inbox.get(s, i)).state for i in ids]  # type: ignore[union-attr]
    assert states == [InboxState.BAD, InboxState.QUEUED, InboxState.QUEUED]
