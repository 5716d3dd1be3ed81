"""The inbox runner's sole purpose in life is to decide the disposition of each received item.

It claims queued items, runs each through its route's pipeline of pure handlers (in worker
processes or a thread: daemon/deciding.py), and applies the outcomes of a batch in one
transaction together with the items' new states. An exception is a bug: the item is shunted
with its traceback and the runner goes on with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.apply import ApplyContext, Unmatched, apply, apply_batch, batch_kind
from daemon.config import InboxSettings
from daemon.deciding import Decider, ThreadDecider
from daemon.metrics import Metrics
from daemon.waiting import wait_any
from handlers.work import Disposition, Effect, Outcome, Work
from store import inbox
from store.archive import Archive
from store.clock import utcnow
from store.models import InboxItem, InboxState

log = logging.getLogger(__name__)
decisions = logging.getLogger("pecora.decisions")

#: Most bytes of raw messages read and decided at once: a batch of 30 MB messages is decided a
#: few at a time, not 20 at once.
DECIDE_BYTES = 64 * 1024 * 1024

_STATE = {Disposition.DONE: InboxState.DONE, Disposition.QUARANTINE: InboxState.QUARANTINED}


def _by_size(batch: list[InboxItem], budget: int) -> list[list[InboxItem]]:
    """Consecutive groups of at most ``budget`` bytes (one item at least)."""
    groups: list[list[InboxItem]] = []
    total = 0
    for item in batch:
        if not groups or total + item.size > budget:
            groups.append([])
            total = 0
        groups[-1].append(item)
        total += item.size
    return groups


@dataclass(frozen=True, slots=True)
class _Decided:
    """One item after its pipeline: the outcome, or the error that shunts it."""

    item: InboxItem
    outcome: Outcome | None
    error: str | None
    traceback: str | None


class InboxRunner:
    """Drains the inbox: claim, process, apply, finish."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        archive: Archive,
        settings: InboxSettings,
        *,
        worker: str,
        wake: asyncio.Event,
        metrics: Metrics,
        facts: tuple[object, ...] = (),
        decider: Decider | None = None,
    ) -> None:
        self._sessions = sessions
        # Facts every pipeline may need that come from the configuration (trust anchors,
        # our own identity): handlers stay pure and read them from the Work. The decider
        # adds them (a process decider has sent them to its workers once).
        self._decider = decider or ThreadDecider(facts, max_bytes=settings.max_message_bytes)
        self._archive = archive
        self._settings = settings
        self._worker = worker
        self._wake = wake
        self._metrics = metrics
        self._store_down = False
        self._careful_until: int | None = None  # one item per batch up to this id

    async def recover(self) -> inbox.Recovery:
        """Requeue what a previous run of this node left claimed; poison goes to bad."""
        async with self._sessions() as session, session.begin():
            rec = await inbox.recover(
                session,
                worker=self._worker,
                max_claims=self._settings.max_claims,
                stale_after=timedelta(minutes=self._settings.stale_claim_minutes),
                now=utcnow(),
            )
        if rec.requeued and rec.last_id is not None:
            self._careful_until = rec.last_id  # see `run_once`
        if rec.requeued or rec.bad:
            log.warning(
                "inbox recovery: %d requeued, %d poison items moved to bad", rec.requeued, rec.bad
            )
        return rec

    async def run(self, stop: asyncio.Event) -> None:
        """Process items until ``stop`` is set; finish the items in hand before returning.

        Pipelined: a batch is claimed, then the previous one is applied while this one is
        decided. Deciding is pure (it never reads the store), so deciding early changes
        nothing, and batches are still applied one after the other, in order. The claim comes
        first so that it never waits for the apply's transaction (SQLite has one writer).
        """
        await self._decider.start()  # before claiming anything for it
        pending: list[_Decided] = []
        while not stop.is_set():
            self._metrics.heartbeat("inbox")
            try:
                if self._careful_until is not None and pending:
                    # Careful mode blames a crash on the one item in hand: nothing overlaps.
                    await self._finish(pending)
                    pending = []
                batch = await self._claim()
                applying = asyncio.create_task(self._finish(pending)) if pending else None
                pending = []
                try:
                    decided = await self._decide_all(batch, stop)
                finally:
                    if applying is not None:
                        await applying
                pending = decided
            except (OperationalError, DBAPIError) as exc:
                # What was in hand stays claimed, and is requeued by the recovery.
                pending = []
                self._outage(exc)
                await wait_any(stop, timeout=min(30.0, self._settings.poll_seconds * 10))
                continue
            if not batch and not pending:
                await self._idle(stop)
        if pending:
            await self._finish(pending)

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch, decide every item, apply them in one transaction; return the count.

        After a crash the items it left claimed are processed one per batch ("careful mode"),
        so that a message that kills the process is blamed alone and reaches ``bad``.
        """
        decided = await self._decide_all(await self._claim(), stop)
        await self._finish(decided)
        return len(decided)

    async def _claim(self) -> list[InboxItem]:
        limit = 1 if self._careful_until is not None else self._settings.batch_size
        async with self._sessions() as session, session.begin():
            batch = await inbox.claim(session, self._worker, limit=limit, now=utcnow())
        if self._store_down:
            log.warning("store reachable again: inbox processing resumed")
            self._store_down = False
        return batch

    async def _decide_all(
        self, batch: list[InboxItem], stop: asyncio.Event | None
    ) -> list[_Decided]:
        """Decide the batch's items (in parallel where the decider can); in order.

        A group of a few dozen megabytes at most at a time; on ``stop`` the groups not
        started yet are given back (one started is finished, like the item in hand).
        """
        decided: list[_Decided] = []
        for group in _by_size(batch, DECIDE_BYTES):
            if stop is not None and stop.is_set():
                async with self._sessions() as session, session.begin():
                    await inbox.unclaim(session, [i.id for i in batch[len(decided):]],
                                        now=utcnow())
                break
            decided += await self._decide_group(group)
        return decided

    async def _decide_group(self, batch: list[InboxItem]) -> list[_Decided]:
        raws = await asyncio.gather(*(self._archive.get(i.sha256) for i in batch),
                                    return_exceptions=True)
        for raw in raws:
            if isinstance(raw, (OperationalError, DBAPIError)):
                raise raw
        readable = [(item, raw) for item, raw in zip(batch, raws, strict=True)
                    if isinstance(raw, bytes)]
        verdicts = iter(await self._decider.decide([
            Work(item.id, raw, item.received_at, item.source, item.mailbox)
            for item, raw in readable]))
        decided = []
        for item, raw in zip(batch, raws, strict=True):
            if isinstance(raw, BaseException):  # lost bytes: shunted with the reason
                tb = "".join(traceback.format_exception(raw))
                log.error("item %d shunted: %s", item.id, raw)
                decided.append(_Decided(item, None, f"{type(raw).__name__}: {raw}", tb))
                continue
            v = next(verdicts)
            if v.outcome is None:
                log.error("item %d shunted: %s\n%s", item.id, v.error, v.traceback or "")
            decided.append(_Decided(item, v.outcome, v.error, v.traceback))
        return decided

    async def _finish(self, decided: list[_Decided]) -> None:
        """Apply a decided batch; leave careful mode once past the items a crash left."""
        if not decided:
            return
        await self._apply_batch(decided)
        if self._careful_until is not None and decided[-1].item.id >= self._careful_until:
            self._careful_until = None

    async def close(self) -> None:
        """Stop the decider's workers (after `run` returned)."""
        await self._decider.close()

    async def drain(self) -> int:
        """Process until the queue is empty (tests, `pecora inbox` tools); return the count."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def _apply_batch(self, decided: list[_Decided]) -> None:
        """Apply every decided item in one transaction, each inside its own savepoint.

        One commit (one fsync) per batch instead of per item; a savepoint keeps an item whose
        effects match nothing (`Unmatched`, held) or raise (a bug, shunted) from touching the
        others. A store failure aborts the batch: its items stay claimed and are recovered.
        Consecutive items whose effect has a batch applier (daemon/apply.py) are applied
        together first, in one savepoint, by a few bulk statements; what it does not take, or
        all of them if it raises, is applied one by one as usual.
        """
        logged: list[tuple[int, str | None, str, str]] = []
        async with self._sessions() as session, session.begin():
            now = utcnow()
            run: list[_Decided] = []
            for d in decided:
                kind = self._batch_kind(d)
                if run and kind is not self._batch_kind(run[0]):
                    logged += await self._apply_run(session, run, now)
                    run = []
                if kind is not None:
                    run.append(d)
                else:
                    logged.append(await self._apply_one(session, d, now))
            logged += await self._apply_run(session, run, now)
        for item_id, route, outcome, reason in logged:  # only what was committed is told
            self._decide(item_id, route, outcome, reason)

    @staticmethod
    def _batch_kind(d: _Decided) -> type[Effect] | None:
        if d.outcome is None or d.outcome.disposition is not Disposition.DONE:
            return None
        return batch_kind(d.outcome.effects)

    async def _apply_run(
        self, session: AsyncSession, run: list[_Decided], now: datetime
    ) -> list[tuple[int, str | None, str, str]]:
        """Apply items with the same batch applier together; the rest one by one, in order."""
        taken = [False] * len(run)
        if len(run) > 1:
            kind = self._batch_kind(run[0])
            assert kind is not None
            try:
                async with session.begin_nested():
                    taken = await apply_batch(session, kind, [
                        (d.outcome.effects[0],  # type: ignore[union-attr]  # batch_kind: set
                         ApplyContext(inbox_id=d.item.id, now=now, archive=self._archive))
                        for d in run
                    ])
                    await inbox.finish_many(session, [
                        (d.item.id, d.outcome.route, d.outcome.reason)  # type: ignore[union-attr]
                        for d, ok in zip(run, taken, strict=True) if ok
                    ], InboxState.DONE, now=now)
            except IntegrityError:  # e.g. another node stored one of the files meanwhile
                log.warning("batch of %d items rolled back, applied one by one", len(run),
                            exc_info=True)
                taken = [False] * len(run)
            except (OperationalError, DBAPIError):
                raise
            except Exception:  # a bug: one by one, the item that has it is shunted alone
                log.exception("batch of %d items rolled back, applied one by one", len(run))
                taken = [False] * len(run)
        logged: list[tuple[int, str | None, str, str]] = []
        for d, ok in zip(run, taken, strict=True):
            if ok:
                assert d.outcome is not None
                logged.append((d.item.id, d.outcome.route, d.outcome.disposition.value,
                               d.outcome.reason))
            else:
                logged.append(await self._apply_one(session, d, now))
        return logged

    async def _apply_one(
        self, session: AsyncSession, d: _Decided, now: datetime
    ) -> tuple[int, str | None, str, str]:
        """Apply one item in its own savepoint and finish it; return what to log."""
        item = d.item
        if d.outcome is None:
            await inbox.finish(
                session,
                item.id,
                InboxState.SHUNTED,
                reason=d.error,
                traceback=d.traceback,
                now=now,
            )
            return (item.id, None, "shunted", d.error or "")
        route, disposition, reason = (
            d.outcome.route,
            d.outcome.disposition,
            d.outcome.reason,
        )
        try:
            async with session.begin_nested():
                ctx = ApplyContext(inbox_id=item.id, now=now, archive=self._archive)
                await apply(session, d.outcome.effects, ctx)
                await inbox.finish(
                    session,
                    item.id,
                    _STATE[disposition],
                    route=route,
                    reason=reason,
                    now=now,
                )
        except Unmatched as exc:  # its savepoint rolled back: held with the reason
            reason = f"unmatched: {exc}"
            await inbox.finish(
                session,
                item.id,
                InboxState.QUARANTINED,
                route=route,
                reason=reason,
                now=now,
            )
            return (item.id, route, Disposition.QUARANTINE.value, reason)
        except (OperationalError, DBAPIError):
            raise
        except Exception as exc:  # a bug in an applier: shunt this one, keep going
            log.exception("item %d shunted", item.id)
            reason = f"{type(exc).__name__}: {exc}"
            await inbox.finish(
                session,
                item.id,
                InboxState.SHUNTED,
                route=route,
                reason=reason,
                traceback=traceback.format_exc(),
                now=now,
            )
            return (item.id, route, "shunted", reason)
        return (item.id, route, disposition.value, reason)

    def _decide(self, item_id: int, route: str | None, outcome: str, reason: str) -> None:
        decisions.info(
            "item=%d route=%s outcome=%s reason=%s",
            item_id,
            route or "-",
            outcome,
            reason,
            extra={"item": item_id, "route": route, "outcome": outcome, "reason": reason},
        )
        self._metrics.count("processed", outcome=outcome)

    def _outage(self, exc: Exception) -> None:
        if not self._store_down:  # log an outage once, not once per retry
            log.error("store unavailable, inbox processing paused: %s", exc)
            self._store_down = True

    async def _idle(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        await wait_any(self._wake, stop, timeout=self._settings.poll_seconds)
