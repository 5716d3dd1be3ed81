"""The outbox runner: retry policy, outages, and identical bytes on every try (both backends)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.scripted import ScriptedChannel
from daemon.config import OutboxSettings, RetryPolicy
from daemon.metrics import Metrics
from daemon.runners.outbox import OutboxRunner
from store import outbox
from store.clock import utcnow
from store.models import DeliveryAttempt, OutboxItem, OutboxState

POLICY = RetryPolicy(backoff_seconds=[0.0], max_attempts=3, deliver_until_hours=1)


def _runner(
    sessions: async_sessionmaker[AsyncSession],
    channel: ScriptedChannel,
    policy: RetryPolicy = POLICY,
) -> OutboxRunner:
    return OutboxRunner(
        sessions,
        {channel.alias: channel},
        {channel.alias: policy},
        OutboxSettings(unavailable_retry_seconds=0.001),
        worker="test",
        wake=asyncio.Event(),
        metrics=Metrics(),
    )


async def _enqueue(sessions: async_sessionmaker[AsyncSession], n: int, **kw: object) -> int:
    async with sessions() as s, s.begin():
        return await outbox.enqueue(
            s,
            outbox.NewOutgoing(
                channel="pec",
                payload=f"Message-ID: <{n}@p>\r\n\r\nbody {n}".encode(),
                recipients=("sdi01@pec.fatturapa.it",),
                idempotency_key=f"k{n}",
                message_id=f"<{n}@p>",
                **kw,  # type: ignore[arg-type]
            ),
            now=utcnow(),
        )


async def _item(sessions: async_sessionmaker[AsyncSession], item_id: int) -> OutboxItem:
    async with sessions() as s:
        row = await s.get(OutboxItem, item_id)
        assert row is not None
        return row


async def test_enqueue_is_idempotent(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await _enqueue(sessions, 1) == await _enqueue(sessions, 1)


async def test_retry_then_sent_with_identical_bytes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    channel = ScriptedChannel("pec", ["retry", "retry"])
    item_id = await _enqueue(sessions, 1)
    runner = _runner(sessions, channel)
    for _ in range(3):
        await runner.run_once()
        await asyncio.sleep(0.01)
    row = await _item(sessions, item_id)
    assert row.state is OutboxState.SENT
    assert row.attempts == 3
    assert row.provider_ref == "<1@p>"
    assert [o.payload for o in channel.sent] == [b"Message-ID: <1@p>\r\n\r\nbody 1"]
    async with sessions() as s:
        statuses = (
            (await s.execute(select(DeliveryAttempt.status).order_by(DeliveryAttempt.id)))
            .scalars()
            .all()
        )
    assert statuses == ["retry", "retry", "sent"]


async def test_gives_up_after_max_attempts(sessions: async_sessionmaker[AsyncSession]) -> None:
    channel = ScriptedChannel("pec", ["retry"] * 10)
    item_id = await _enqueue(sessions, 1)
    runner = _runner(sessions, channel)
    for _ in range(5):
        await runner.run_once()
        await asyncio.sleep(0.01)
    row = await _item(sessions, item_id)
    assert row.state is OutboxState.FAILED
    assert row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")


async def test_gives_up_past_deliver_until(sessions: async_sessionmaker[AsyncSession]) -> None:
    channel = ScriptedChannel("pec", ["retry"])
    item_id = await _enqueue(sessions, 1, deliver_until=utcnow() - timedelta(seconds=1))
    await _runner(sessions, channel).run_once()
    assert (await _item(sessions, item_id)).state is OutboxState.FAILED


async def test_permanent_failure_is_final(sessions: async_sessionmaker[AsyncSession]) -> None:
    channel = ScriptedChannel("pec", ["failed"])
    item_id = await _enqueue(sessions, 1)
    runner = _runner(sessions, channel)
    await runner.run_once()
    assert await runner.run_once() == 0
    assert (await _item(sessions, item_id)).state is OutboxState.FAILED


async def test_outage_keeps_batch_queued_and_records_partial(
    sessions: async_sessionmaker[AsyncSession], caplog: object
) -> None:
    channel = ScriptedChannel("pec", ["sent", "unavailable"])
    ids = [await _enqueue(sessions, n) for n in range(3)]
    runner = _runner(sessions, channel)
    await runner.run_once()
    rows = [await _item(sessions, i) for i in ids]
    assert [r.state for r in rows] == [OutboxState.SENT, OutboxState.QUEUED, OutboxState.QUEUED]
    assert [r.attempts for r in rows] == [1, 0, 0]  # an outage is not an attempt
    await asyncio.sleep(0.01)
    await runner.drain()
    rows = [await _item(sessions, i) for i in ids]
    assert all(r.state is OutboxState.SENT for r in rows)
    assert len(channel.sent) == 3  # nothing sent twice


async def test_crash_recovery_requeues_sending(sessions: async_sessionmaker[AsyncSession]) -> None:
    item_id = await _enqueue(sessions, 1)
    async with sessions() as s, s.begin():
        assert await outbox.claim_due(s, "test", limit=10, now=utcnow())
    runner = _runner(sessions, ScriptedChannel("pec"))
    assert await runner.recover() == 1
    await runner.drain()
    assert (await _item(sessions, item_id)).state is OutboxState.SENT


# --- crash recovery with provider receipts (PEC): exactly once in practice -------------------


def _receipt_runner(
    sessions: async_sessionmaker[AsyncSession], channel: ScriptedChannel, wait: float
) -> OutboxRunner:
    return OutboxRunner(
        sessions,
        {channel.alias: channel},
        {channel.alias: POLICY},
        OutboxSettings(unavailable_retry_seconds=wait),
        worker="test",
        wake=asyncio.Event(),
        metrics=Metrics(),
        receipt_channels={channel.alias},
    )


async def _receipt(sessions: async_sessionmaker[AsyncSession], n: int, kind: str) -> None:
    """The provider's receipt about item ``n`` as the inbox pipeline records it."""
    from store import inbox, receipts

    async with sessions() as s, s.begin():
        sha = f"{n:032d}{len(kind):032d}"
        put = await inbox.put(s, inbox.Received("lmtp", sha, 1), now=utcnow())
        inbox_id = put.item_id
        await receipts.record(
            s,
            inbox_id=inbox_id,
            receipt_type=kind,
            ref_message_id=f"<{n}@p>",
            recipient=None,
            error=None,
            now=utcnow(),
        )


async def _crash_mid_send(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        assert await outbox.claim_due(s, "test", limit=10, now=utcnow())


async def test_recovered_item_with_a_receipt_is_not_resent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    taken, never = await _enqueue(sessions, 1), await _enqueue(sessions, 2)
    await _crash_mid_send(sessions)  # both in flight; the provider took only item 1
    channel = ScriptedChannel("pec")
    runner = _receipt_runner(sessions, channel, wait=0.3)
    assert await runner.recover() == 2
    assert await runner.drain() == 0  # held: a receipt may still be on its way
    await _receipt(sessions, 1, "accettazione")
    await asyncio.sleep(0.35)
    await runner.drain()
    assert [o.outbox_id for o in channel.sent] == [never]  # item 1 is not submitted again
    for item_id in (taken, never):
        assert (await _item(sessions, item_id)).state is OutboxState.SENT
    async with sessions() as s:
        detail = (
            await s.execute(
                select(DeliveryAttempt.detail).where(DeliveryAttempt.outbox_id == taken)
            )
        ).scalar_one()
    assert "accettazione" in detail


async def test_non_accettazione_also_proves_the_provider_took_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    item_id = await _enqueue(sessions, 1)
    await _crash_mid_send(sessions)
    await _receipt(sessions, 1, "non-accettazione")
    channel = ScriptedChannel("pec")
    runner = _receipt_runner(sessions, channel, wait=0.001)
    await runner.recover()
    await runner.drain()
    assert channel.sent == []
    assert (await _item(sessions, item_id)).state is OutboxState.SENT


async def test_periodic_recovery_leaves_items_in_flight_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    item_id = await _enqueue(sessions, 1)
    gate = asyncio.Event()

    class Slow(ScriptedChannel):
        async def send(self, batch):  # type: ignore[no-untyped-def]
            await gate.wait()
            return await super().send(batch)

    channel = Slow("pec")
    runner = _receipt_runner(sessions, channel, wait=0.001)
    sending = asyncio.create_task(runner.run_once())
    await asyncio.sleep(0.05)
    assert (await _item(sessions, item_id)).state is OutboxState.SENDING
    assert await runner.recover() == 0  # the minute job while the send is in progress
    gate.set()
    assert await sending == 1
    assert await runner.drain() == 0
    assert len(channel.sent) == 1


async def test_recovery_leaves_this_runs_claims_alone_without_the_in_flight_set(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A claim that commits after the minute job read the in-flight set is no crash either."""
    await _enqueue(sessions, 1)
    started = utcnow()
    async with sessions() as s, s.begin():
        assert await outbox.claim_due(s, "test", limit=10, now=utcnow())
    stale = timedelta(minutes=15)
    async with sessions() as s, s.begin():
        now = utcnow()
        assert (
            await outbox.recover(
                s, worker="test", stale_after=stale, now=now, claimed_before=started
            )
            == 0
        )
        assert await outbox.recover(s, worker="test", stale_after=stale, now=now) == 1


# --- run(): feeder, lanes and the group-committing recorder ----------------------------------


async def _states(sessions: async_sessionmaker[AsyncSession]) -> dict[int, OutboxItem]:
    async with sessions() as s:
        return {r.id: r for r in (await s.execute(select(OutboxItem))).scalars()}


async def test_run_records_every_outcome_kind(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = [await _enqueue(sessions, n) for n in range(4)]
    # one lane, oldest first: 0 retried then sent, 1 failed, 2 kept queued by an outage
    channel = ScriptedChannel("pec", ["retry", "failed", "unavailable"])
    runner = _runner(sessions, channel)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    for _ in range(200):
        await asyncio.sleep(0.02)
        rows = await _states(sessions)
        if all(r.state in (OutboxState.SENT, OutboxState.FAILED) for r in rows.values()):
            break
    stop.set()
    await task
    rows = await _states(sessions)
    assert [rows[i].state for i in ids] == [OutboxState.SENT, OutboxState.FAILED] + [
        OutboxState.SENT
    ] * 2
    assert [rows[i].attempts for i in ids] == [2, 1, 1, 1]  # the outage counted no attempt
    assert sorted(o.outbox_id for o in channel.sent) == [ids[0], ids[2], ids[3]]
    assert not runner._inflight


async def test_run_stopped_puts_back_what_it_had_not_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await _enqueue(sessions, n) for n in range(20)]
    stop = asyncio.Event()

    class Slow(ScriptedChannel):
        async def send(self, batch):  # type: ignore[no-untyped-def]
            if len(self.sent) == 3:
                stop.set()  # SIGTERM while the fourth is in hand
            await asyncio.sleep(0.01)
            return await super().send(batch)

    channel = Slow("pec")
    runner = _runner(sessions, channel)
    await asyncio.wait_for(runner.run(stop), 10)
    rows = await _states(sessions)
    sent = {o.outbox_id for o in channel.sent}
    assert len(sent) == 4  # the item in hand was finished
    assert all(rows[i].state is OutboxState.SENT for i in sent)
    rest = [rows[i] for i in ids if i not in sent]
    assert all(r.state is OutboxState.QUEUED and r.attempts == 0 for r in rest)
    assert not runner._inflight
