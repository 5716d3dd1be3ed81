"""The inbox runner as a component: recovery after a crash, shunting bugs, unmatched effects."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.apply import ApplyContext, applier
from daemon.config import InboxSettings
from daemon.metrics import Metrics
from daemon.runners.inbox import InboxRunner
from handlers.work import Effect
from store import inbox
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.models import InboxState


def _runner(sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive) -> InboxRunner:
    return InboxRunner(
        sessions,
        archive,
        InboxSettings(max_claims=2, stale_claim_minutes=5),
        worker="w",
        wake=asyncio.Event(),
        metrics=Metrics(),
    )


async def _put(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive, raw: bytes
) -> int:
    sha = await archive.put(raw)
    async with sessions() as s, s.begin():
        return (await inbox.put(s, inbox.Received("lmtp", sha, len(raw)), now=utcnow())).item_id


async def test_recovery_after_a_crash_is_logged_and_poison_goes_bad(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    caplog: pytest.LogCaptureFixture,
) -> None:
    item_id = await _put(sessions, archive, b"From: a@b\r\n\r\nbody\r\n")
    runner = _runner(sessions, archive)
    for expected in (InboxState.QUEUED, InboxState.BAD):
        async with sessions() as s, s.begin():  # a crash while the item was in hand
            assert await inbox.claim(s, "w", limit=5, now=utcnow())
        with caplog.at_level(logging.WARNING):
            await runner.recover()
        async with sessions() as s:
            assert (await inbox.get(s, item_id)).state is expected  # type: ignore[union-attr]
    assert "inbox recovery: 1 requeued, 0 poison" in caplog.text
    assert "inbox recovery: 0 requeued, 1 poison" in caplog.text


async def test_missing_archive_bytes_shunt_the_item_and_the_rest_goes_on(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    async with sessions() as s, s.begin():
        lost = (await inbox.put(s, inbox.Received("lmtp", "f" * 64, 1), now=utcnow())).item_id
    good = await _put(sessions, archive, b"From: a@b\r\n\r\nbody\r\n")
    assert await _runner(sessions, archive).drain() == 2
    async with sessions() as s:
        shunted = await inbox.get(s, lost)
        assert shunted is not None
        assert shunted.state is InboxState.SHUNTED
        assert "ItemMissing" in (shunted.reason or "")
        assert "Traceback" in (shunted.traceback or "")
        assert (await inbox.get(s, good)).state is InboxState.QUARANTINED  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class _Nobody(Effect):
    unmatched_reason: str = "no invoice with that file name"


@applier(_Nobody)
async def _never(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    return False


async def test_unmatched_effect_quarantines_with_its_reason(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers.work import Disposition, Outcome

    item_id = await _put(sessions, archive, b"From: a@b\r\n\r\nbody\r\n")
    monkeypatch.setattr(
        "daemon.deciding.process",
        lambda work, max_bytes: Outcome("test-route", Disposition.DONE, "processed", (_Nobody(),)),
    )
    await _runner(sessions, archive).drain()
    async with sessions() as s:
        item = await inbox.get(s, item_id)
    assert item is not None
    assert item.state is InboxState.QUARANTINED
    assert item.reason == "unmatched: no invoice with that file name"
    assert item.route == "test-route"


async def test_after_a_crash_the_claimed_items_go_one_per_batch(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    ids = [
        await _put(sessions, archive, f"From: a@b\r\n\r\nbody {n}\r\n".encode()) for n in range(5)
    ]
    async with sessions() as s, s.begin():  # a crash with three items claimed
        assert len(await inbox.claim(s, "w", limit=3, now=utcnow())) == 3
    runner = _runner(sessions, archive)
    rec = await runner.recover()
    assert rec.last_id == ids[2]
    # one item per batch while a process-killing message may be among them ...
    assert [await runner.run_once() for _ in range(3)] == [1, 1, 1]
    # ... then whole batches again
    assert await runner.run_once() == 2


@dataclass(frozen=True, slots=True)
class _Logged(Effect):
    item_id: int


_EVENTS: list[tuple[str, int]] = []


@applier(_Logged)
async def _slow_apply(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    assert isinstance(effect, _Logged)
    _EVENTS.append(("apply", effect.item_id))
    await asyncio.sleep(0.05)  # long enough for the next batch to be decided meanwhile
    _EVENTS.append(("applied", effect.item_id))
    return True


async def _run_logged(
    sessions: async_sessionmaker[AsyncSession],
    runner: InboxRunner,
    monkeypatch: pytest.MonkeyPatch,
    ids: list[int],
) -> list[tuple[str, int]]:
    from handlers.work import Disposition, Outcome, Work

    def decide(work: Work, max_bytes: int) -> Outcome:
        _EVENTS.append(("decide", work.item_id))
        return Outcome("test-route", Disposition.DONE, "processed", (_Logged(work.item_id),))

    _EVENTS.clear()
    monkeypatch.setattr("daemon.deciding.process", decide)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    for _ in range(200):
        async with sessions() as s:
            states = [(await inbox.get(s, i)).state for i in ids]  # type: ignore[union-attr]
        if all(state is InboxState.DONE for state in states):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    return list(_EVENTS)


async def test_run_decides_the_next_batch_while_applying_one_in_order(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [await _put(sessions, archive, f"From: a@b\r\n\r\n{n}\r\n".encode()) for n in range(6)]
    runner = InboxRunner(sessions, archive, InboxSettings(batch_size=2, poll_seconds=0.05),
                         worker="w", wake=asyncio.Event(), metrics=Metrics())
    events = await _run_logged(sessions, runner, monkeypatch, ids)
    assert [i for what, i in events if what == "apply"] == ids  # batches applied in order
    assert [i for what, i in events if what == "decide"] == ids
    # the second batch was decided while the first was being applied
    assert events.index(("decide", ids[2])) < events.index(("applied", ids[1]))
    assert events.index(("decide", ids[4])) < events.index(("applied", ids[3]))


async def test_run_in_careful_mode_overlaps_nothing(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [await _put(sessions, archive, f"From: a@b\r\n\r\n{n}\r\n".encode()) for n in range(3)]
    async with sessions() as s, s.begin():  # a crash with every item claimed
        assert len(await inbox.claim(s, "w", limit=3, now=utcnow())) == 3
    runner = _runner(sessions, archive)
    await runner.recover()
    events = await _run_logged(sessions, runner, monkeypatch, ids)
    # a crash while deciding an item must not be blamed on another one still being applied
    assert events == [e for i in ids for e in (("decide", i), ("apply", i), ("applied", i))]


async def test_an_item_that_kills_its_decoder_is_shunted_and_the_daemon_goes_on(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    from daemon.deciding import ProcessDecider
    from tests.support.deciding import KILLER, crash_on_marker

    ids = [await _put(sessions, archive, f"From: a@b\r\n\r\n{body}\r\n".encode())
           for body in ("before", KILLER.decode(), "after")]
    decider = ProcessDecider((), max_bytes=1 << 20, workers=1, target=crash_on_marker)
    runner = InboxRunner(sessions, archive, InboxSettings(), worker="w", wake=asyncio.Event(),
                         metrics=Metrics(), decider=decider)
    try:
        assert await runner.drain() == 3
    finally:
        await runner.close()
    async with sessions() as s:
        before, killer, after = [await inbox.get(s, i) for i in ids]
    assert before is not None and before.state is InboxState.QUARANTINED  # not for pecora
    assert after is not None and after.state is InboxState.QUARANTINED
    assert killer is not None and killer.state is InboxState.SHUNTED
    assert "decoding process died twice" in (killer.reason or "")


def test_large_messages_are_decided_a_few_at_a_time() -> None:
    from types import SimpleNamespace

    from daemon.runners.inbox import _by_size

    mb = 1024 * 1024
    items = [SimpleNamespace(size=n * mb) for n in (30, 30, 10, 70, 0, 1)]
    groups = _by_size(items, 64 * mb)  # type: ignore[arg-type]
    assert [[i.size // mb for i in g] for g in groups] == [[30, 30], [10], [70], [0, 1]]
    assert _by_size([], 64 * mb) == []


async def test_run_starts_the_decider_before_claiming(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from daemon.deciding import ThreadDecider

    calls: list[str] = []

    class Recording(ThreadDecider):
        async def start(self) -> None:
            calls.append("start")

    real_claim = inbox.claim

    async def claim(*args: object, **kwargs: object) -> list[object]:
        calls.append("claim")
        return await real_claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "claim", claim)
    stop = asyncio.Event()
    runner = InboxRunner(sessions, archive, InboxSettings(poll_seconds=0.05), worker="w",
                         wake=asyncio.Event(), metrics=Metrics(),
                         decider=Recording((), max_bytes=100))
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(0.2)
    stop.set()
    await task
    assert calls[0] == "start" and calls.count("start") == 1 and "claim" in calls
