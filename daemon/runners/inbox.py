"""The inbox runner's sole purpose in life is to decide the disposition of each received item.

It claims queued items, runs each through its route's pipeline of pure handlers, and applies
the outcome in one transaction together with the item's new state. An exception is a bug: the
item is shunted with its traceback and the runner goes on with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.apply import ApplyContext, Unmatched, apply
from daemon.config import InboxSettings
from daemon.metrics import Metrics
from daemon.waiting import wait_any
from handlers.run import process
from handlers.work import Disposition, Work
from store import inbox
from store.archive import Archive
from store.clock import utcnow
from store.models import InboxItem, InboxState

log = logging.getLogger(__name__)
decisions = logging.getLogger("pecora.decisions")

_STATE = {Disposition.DONE: InboxState.DONE, Disposition.QUARANTINE: InboxState.QUARANTINED}


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
    ) -> None:
        self._sessions = sessions
        # Facts every pipeline may need that come from the configuration (trust anchors,
        # our own identity): handlers stay pure and read them from the Work.
        self._facts = facts
        self._archive = archive
        self._settings = settings
        self._worker = worker
        self._wake = wake
        self._metrics = metrics
        self._store_down = False

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
        if rec.requeued or rec.bad:
            log.warning(
                "inbox recovery: %d requeued, %d poison items moved to bad", rec.requeued, rec.bad
            )
        return rec

    async def run(self, stop: asyncio.Event) -> None:
        """Process items until ``stop`` is set; finish the item in hand before returning."""
        while not stop.is_set():
            self._metrics.heartbeat("inbox")
            try:
                done = await self.run_once(stop)
            except (OperationalError, DBAPIError) as exc:
                self._outage(exc)
                done = 0
                await wait_any(stop, timeout=min(30.0, self._settings.poll_seconds * 10))
            if done == 0:
                await self._idle(stop)

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and process it; return how many items were finished."""
        async with self._sessions() as session, session.begin():
            batch = await inbox.claim(
                session, self._worker, limit=self._settings.batch_size, now=utcnow()
            )
        if self._store_down:
            log.warning("store reachable again: inbox processing resumed")
            self._store_down = False
        finished = 0
        for index, item in enumerate(batch):
            if stop is not None and stop.is_set():
                async with self._sessions() as session, session.begin():
                    await inbox.unclaim(session, [i.id for i in batch[index:]], now=utcnow())
                break
            await self._dispose(item)
            finished += 1
        return finished

    async def drain(self) -> int:
        """Process until the queue is empty (tests, `pecora inbox` tools); return the count."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def _dispose(self, item: InboxItem) -> None:
        route = None
        try:
            raw = await self._archive.get(item.sha256)
            work = Work(
                item.id, raw, item.received_at, item.source, item.mailbox, facts=self._facts
            )
            # Parsing and verifying can take real CPU on large messages: keep the loop free.
            outcome = await asyncio.to_thread(
                process, work, max_bytes=self._settings.max_message_bytes
            )
            route = outcome.route
            disposition, reason = outcome.disposition, outcome.reason
            try:
                async with self._sessions() as session, session.begin():
                    now = utcnow()
                    ctx = ApplyContext(inbox_id=item.id, now=now, archive=self._archive)
                    await apply(session, outcome.effects, ctx)
                    await inbox.finish(
                        session, item.id, _STATE[disposition], route=route, reason=reason, now=now
                    )
            except Unmatched as exc:  # rolled back: keep the item, held with the reason
                disposition, reason = Disposition.QUARANTINE, f"unmatched: {exc}"
                async with self._sessions() as session, session.begin():
                    await inbox.finish(
                        session,
                        item.id,
                        InboxState.QUARANTINED,
                        route=route,
                        reason=reason,
                        now=utcnow(),
                    )
        except (OperationalError, DBAPIError):
            raise  # the store is down: the item stays claimed and is recovered, not shunted
        except Exception as exc:  # any other exception is a bug: shunt, keep going
            tb = traceback.format_exc()
            log.exception("item %d shunted", item.id)
            async with self._sessions() as session, session.begin():
                await inbox.finish(
                    session,
                    item.id,
                    InboxState.SHUNTED,
                    route=route,
                    reason=f"{type(exc).__name__}: {exc}",
                    traceback=tb,
                    now=utcnow(),
                )
            self._decide(item.id, route, "shunted", f"{type(exc).__name__}: {exc}")
            return
        self._decide(item.id, route, disposition.value, reason)

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
