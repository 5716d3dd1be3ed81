"""The outbox runner: the only code that sends. It drains due outbox items through channels.

Retry policy lives here, not in the channels (Mailman's OutgoingRunner, arq's Retry): a
temporary failure is retried on the channel's backoff schedule until ``max_attempts`` or
``deliver_until``, then fails; a connection-level failure keeps the batch queued, counts no
attempt and is logged once per outage.

So do rate limits (issue 8): per channel alias a token bucket, a sliding-window quota and a
concurrency cap. `run` drives one lane per allowed concurrent send (a `ChannelPool` lane, or
the channel itself when it takes concurrent sends). The store sees few, large statements
whatever the rate (a mass mailing is thousands of items, and SQLite has one writer): per alias
a feeder claims many items at once, only what the limiter grants, and hands them to the lanes;
the lanes send one item at a time and pass the outcomes to one recorder, which writes what
has come in while its last transaction committed in the next one (group commit), one
statement per kind of outcome. An item is recorded ``sent`` only after the channel took it.
The feeder keeps at most ``batch_size`` items claimed and not yet recorded: that bounds what
a crash can leave to be sent again.

Crashes, and how PEC makes the resend avoidable. The outbox is at-least-once: an item is
``sending`` from its claim until the channel's outcome is recorded, and a crash in between
(the provider may have taken it, or not) leaves it ``sending``; `recover` requeues it at
restart. Sent again, an invoice file would reach SdI twice, and SdI answers the copy with NS
00002 (duplicate file name). A PEC provider, though, answers every submission it takes with a
signed accettazione (or non-accettazione) naming our fixed Message-ID, issued while it takes
the message (domain.md §4.2), and the inbox pipeline records it as a `PecReceipt` linked to
the outbox row. So for a channel whose provider issues receipts (``receipt_channels``: PEC):

- `recover` requeues a ``sending`` item to be due only after a wait (``receipt_wait``, the
  ``unavailable_retry_seconds`` of a lost connection, which leaves the same doubt), time for
  a receipt already issued to come in through the ingress and be processed;
- every claim first asks the store which claimed items a receipt names (`outbox.acknowledged`)
  and records those ``sent`` without submitting them again; only the rest is sent.

That makes a crash exactly-once in practice: a message the provider took before the crash
is not submitted again as long as its receipt is recorded within ``receipt_wait`` of the
restart; a message it never took has no receipt and is sent after the wait. Only a receipt
later than that (a provider or mailbox outage at the same time as our crash) still gives a
duplicate, which SdI refuses with NS 00002 (at-least-once, the bound: the items in flight at
the crash). The same check covers items released after a connection lost mid-submission.
A periodic `recover` never requeues what this runner is sending at that moment.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel, ChannelUnavailable, Delivery, Outgoing
from channels.pec import PecChannel
from daemon.config import OutboxSettings, RetryPolicy
from daemon.metrics import Metrics
from daemon.runners.limits import Limiter, RateConfig
from daemon.waiting import wait_any
from handlers.messaging.ratelimit import retry_after
from store import outbox
from store.clock import utcnow
from store.models import OutboxItem, OutboxState

log = logging.getLogger(__name__)


def next_attempt(policy: RetryPolicy, attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` tries: the schedule's step, with 10 % jitter."""
    steps = policy.backoff_seconds or [60.0]
    base = steps[min(attempts, len(steps)) - 1] if attempts > 0 else steps[0]
    return now + timedelta(seconds=base * random.uniform(0.9, 1.1))


def _issues_receipts(channel: Channel) -> bool:
    """A PEC channel (or a pool of them): its provider answers each submission with a receipt."""
    lanes = getattr(channel, "lanes", None) or [channel]
    return all(isinstance(lane, PecChannel) for lane in lanes)


class OutboxRunner:
    """Claims due outbox items, sends them by channel, records each outcome."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        policies: Mapping[str, RetryPolicy],
        settings: OutboxSettings,
        *,
        worker: str,
        wake: asyncio.Event,
        metrics: Metrics,
        limits: Mapping[str, RateConfig] | None = None,
        receipt_channels: Collection[str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._policies = policies
        self._settings = settings
        self._worker = worker
        self._wake = wake
        self._metrics = metrics
        self._down: set[str] = set()  # channels in an outage (logged once)
        # Explicit limits win; else the ones the registry attached to the channel.
        self._limiters = {
            alias: Limiter((limits or {}).get(alias) or getattr(channel, "rate", None))
            for alias, channel in channels.items()
        }
        # Aliases whose provider answers each submission with a receipt (see the docstring).
        self._receipts = (
            set(receipt_channels)
            if receipt_channels is not None
            else {a for a, c in channels.items() if _issues_receipts(c)}
        )
        self._receipt_wait = timedelta(seconds=settings.unavailable_retry_seconds)
        self._inflight: set[int] = set()  # claimed by this runner, outcome not recorded yet
        self._started = utcnow()  # its claims since are never a crash's leftovers

    def lanes(self, alias: str) -> list[Channel]:
        """The channels that may send for ``alias`` at the same time."""
        channel = self._channels[alias]
        pool = getattr(channel, "lanes", None)
        if pool:
            return list(pool)
        if getattr(channel, "concurrent", False):  # e.g. HTTP: one session, many requests
            return [channel] * self._limiters[alias].concurrency
        return [channel]

    async def recover(self) -> int:
        """Requeue items this node left ``sending`` (it crashed mid-send), or a stale claim;
        for receipt channels, due only after ``receipt_wait`` (see the module docstring)."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            n = await outbox.recover(
                session,
                worker=self._worker,
                stale_after=timedelta(minutes=self._settings.stale_claim_minutes),
                now=now,
                exclude=set(self._inflight),
                hold={alias: now + self._receipt_wait for alias in self._receipts},
                claimed_before=self._started,
            )
        if n:
            log.warning("outbox recovery: %d items were being sent at the crash, requeued", n)
        return n

    async def _claim(self, alias: str, limit: int) -> list[OutboxItem]:
        """Claim due items of ``alias``; those a provider receipt names are recorded ``sent``
        (the provider took them before a crash) and only the others are returned."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            rows = await outbox.claim_due(
                session, self._worker, limit=limit, now=now, channels=[alias]
            )
            done: dict[int, str] = {}
            if rows and alias in self._receipts:
                done = await outbox.acknowledged(session, [r.id for r in rows])
            await outbox.record_outcomes(
                session,
                [
                    outbox.Outcome(
                        r.id,
                        OutboxState.SENT,
                        f"not submitted again: the provider's {done[r.id]} names it",
                        provider_ref=r.message_id,
                    )
                    for r in rows
                    if r.id in done
                ],
                now=now,
            )
        if done:
            log.warning(
                "outbox: %d items on %s were taken by the provider before a crash (receipt "
                "found), recorded sent without a resend",
                len(done),
                alias,
            )
            self._metrics.count("sent_by_receipt", channel=alias)
        rows = [r for r in rows if r.id not in done]
        self._inflight.update(r.id for r in rows)
        return rows

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set: the items in hand are finished, claimed ones not yet in
        hand go back to the queue unsent, and every outcome is recorded before returning."""
        lanes = {alias: self.lanes(alias) for alias in self._channels}
        recorder = _Recorder(self, sum(len(x) for x in lanes.values()))
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(recorder.run(), name="outbox-recorder")
                for alias, channels in lanes.items():
                    flow = _Flow(self._settings.batch_size, len(channels))
                    tg.create_task(self._feed(alias, flow, stop), name=f"outbox-{alias}")
                    for n, channel in enumerate(channels):
                        tg.create_task(
                            self._lane(alias, channel, flow, recorder, stop),
                            name=f"outbox-{alias}-{n}",
                        )
        finally:
            for channel in self._channels.values():
                await channel.close()

    async def _feed(self, alias: str, flow: _Flow, stop: asyncio.Event) -> None:
        """Claim for the lanes of ``alias``: many items per claim (one statement), only what
        the limiter grants, and never more than ``batch_size`` claimed and not yet recorded:
        the most a crash can leave to be sent again."""
        limiter = self._limiters[alias]
        try:
            while not stop.is_set():
                self._metrics.heartbeat("outbox")
                room = flow.room()
                if not room:
                    await flow.wait(stop)
                    continue
                try:
                    granted = await limiter.acquire(room, stop)
                    if not granted:
                        return
                    rows = await self._claim(alias, granted)
                    limiter.used(granted, len(rows))
                    if rows:
                        flow.put(rows)
                        continue
                except (OperationalError, DBAPIError) as exc:
                    log.error("store unavailable, outbox paused: %s", exc)
                await self._idle(stop)
        finally:
            flow.close()

    async def _lane(
        self,
        alias: str,
        channel: Channel,
        flow: _Flow,
        recorder: _Recorder,
        stop: asyncio.Event,
    ) -> None:
        """Send what the feeder claimed, an item at a time, on ``channel``; outcomes go to the
        recorder, so the next send never waits for the last one's commit."""
        limiter = self._limiters[alias]
        try:
            while (item := await flow.get()) is not None:
                if (pause := limiter.blocked_for()) > 0:  # the provider's Retry-After
                    await wait_any(stop, timeout=pause)
                if stop.is_set():  # shutting down: what is not in hand goes back unsent
                    recorder.release(flow, [item.id], "not sent: shutdown", due=utcnow())
                    continue
                batch = [
                    Outgoing(
                        item.id, item.sender, tuple(item.recipients), item.payload, item.message_id
                    )
                ]
                try:
                    deliveries = await channel.send(batch)
                except ChannelUnavailable as exc:
                    self._note_down(alias, exc, 1)
                    self._pauses(alias, exc.partial)
                    recorder.add(flow, self._outcomes(alias, [item], exc.partial))
                    if not exc.partial:
                        due = utcnow() + timedelta(seconds=self._settings.unavailable_retry_seconds)
                        recorder.release(flow, [item.id], str(exc), due=due)
                    continue
                self._note_up(alias)
                self._pauses(alias, deliveries)
                recorder.add(flow, self._outcomes(alias, [item], deliveries))
        finally:
            recorder.lane_done()

    async def run_once(self) -> int:
        """Claim one batch of due items per channel (within its limits) and send them."""
        total = 0
        for alias in self._channels:
            limiter = self._limiters[alias]
            granted, _ = limiter.grant(self._settings.batch_size)
            if not granted:
                continue
            rows = await self._claim(alias, granted)
            limiter.used(granted, len(rows))
            if rows:
                await self._send(alias, rows)
            total += len(rows)
        return total

    async def drain(self) -> int:
        """Send until nothing is due (tests, `pecora outbox` tools); return the count."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def _send(self, alias: str, items: list[OutboxItem]) -> None:
        """Send ``items`` as one batch (a pool splits it over its lanes) and record it."""
        try:
            await self._send_claimed(alias, items, self._channels[alias])
        finally:
            self._inflight.difference_update(i.id for i in items)

    async def _send_claimed(self, alias: str, items: list[OutboxItem], channel: Channel) -> None:
        batch = [
            Outgoing(i.id, i.sender, tuple(i.recipients), i.payload, i.message_id) for i in items
        ]
        try:
            deliveries = await channel.send(batch)
        except ChannelUnavailable as exc:
            self._pauses(alias, exc.partial)
            done = {d.outbox_id for d in exc.partial}
            rest = [i.id for i in items if i.id not in done]
            now = utcnow()
            async with self._sessions() as session, session.begin():
                await outbox.record_outcomes(
                    session, self._outcomes(alias, items, exc.partial), now=now
                )
                await outbox.release(
                    session,
                    rest,
                    detail=str(exc),
                    next_at=now + timedelta(seconds=self._settings.unavailable_retry_seconds),
                    now=now,
                )
            self._note_down(alias, exc, len(rest))
            return
        self._note_up(alias)
        self._pauses(alias, deliveries)
        async with self._sessions() as session, session.begin():
            await outbox.record_outcomes(
                session, self._outcomes(alias, items, deliveries), now=utcnow()
            )

    def _note_down(self, alias: str, exc: ChannelUnavailable, kept: int) -> None:
        if alias not in self._down:
            log.error("channel %s unavailable, %d items kept queued: %s", alias, kept, exc)
            self._down.add(alias)
        self._metrics.count("channel_unavailable", channel=alias)

    def _note_up(self, alias: str) -> None:
        if alias in self._down:
            log.warning("channel %s available again", alias)
            self._down.discard(alias)

    def _pauses(self, alias: str, deliveries: list[Delivery]) -> None:
        """A 429 with Retry-After holds every send of the alias for that long, from now."""
        for d in deliveries:
            if d.status != "sent" and (pause := retry_after(d.detail)) is not None:
                self._limiters[alias].back_off(pause)

    def _outcomes(
        self, alias: str, items: list[OutboxItem], deliveries: list[Delivery]
    ) -> list[outbox.Outcome]:
        """What to record of each delivery: sent, or retry or failed by the retry policy."""
        rows = {i.id: i for i in items}
        policy = self._policies.get(alias, RetryPolicy())
        now = utcnow()
        out: list[outbox.Outcome] = []
        for d in deliveries:
            row = rows[d.outbox_id]
            if d.status == "sent":
                out.append(outbox.Outcome(row.id, OutboxState.SENT, d.detail, d.provider_ref))
                continue
            attempts = row.attempts + 1
            until = row.deliver_until or row.created_at + timedelta(
                hours=policy.deliver_until_hours
            )
            retry_at = next_attempt(policy, attempts, now)
            if d.status == "retry" and attempts < policy.max_attempts and retry_at <= until:
                out.append(
                    outbox.Outcome(row.id, OutboxState.RETRY, d.detail, next_attempt_at=retry_at)
                )
                continue
            why = (
                d.detail
                if d.status == "failed"
                else f"gave up after {attempts} attempts: {d.detail}"
            )
            out.append(outbox.Outcome(row.id, OutboxState.FAILED, why))
            log.error("outbox item %d failed on %s: %s", row.id, alias, why)
        for state, name in _COUNTERS.items():
            if n := sum(1 for o in out if o.state is state):
                self._metrics.count(name, n, channel=alias)
        return out

    async def _idle(self, stop: asyncio.Event) -> None:
        async with self._sessions() as session:
            due = await outbox.next_due(session)
        wait = self._settings.poll_seconds
        if due is not None:
            wait = max(0.05, min(wait, (due - utcnow()).total_seconds()))
        self._wake.clear()
        await wait_any(self._wake, stop, timeout=wait)


_COUNTERS = {OutboxState.SENT: "sent", OutboxState.RETRY: "retried", OutboxState.FAILED: "failed"}


class _Flow:
    """The items one alias's feeder claimed, on their way to its lanes and the recorder.

    ``outstanding`` counts items claimed and not yet recorded (or released). The feeder
    claims again only when the lanes are about to run dry, and never beyond ``cap``
    (``batch_size``) outstanding, so the work a crash can leave in doubt stays bounded.
    """

    def __init__(self, cap: int, lanes: int) -> None:
        self.cap = cap
        self.low = max(1, min(lanes, cap // 2))  # claim again when fewer than this wait
        self.items: collections.deque[OutboxItem] = collections.deque()
        self.outstanding = 0
        self.closed = False
        self._put = asyncio.Event()  # items put, or closed
        self._taken = asyncio.Event()  # items taken or recorded: room may have come back

    def room(self) -> int:
        """How many items to claim now (0: the lanes have enough, or the cap is reached)."""
        if len(self.items) >= self.low:
            return 0
        return max(0, self.cap - self.outstanding)

    async def wait(self, stop: asyncio.Event) -> None:
        """Wait until items are taken or recorded (or ``stop``, or a second for the beat)."""
        self._taken.clear()
        await wait_any(self._taken, stop, timeout=1.0)

    def put(self, rows: list[OutboxItem]) -> None:
        self.items.extend(rows)
        self.outstanding += len(rows)
        self._put.set()

    async def get(self) -> OutboxItem | None:
        """The next item to send; None once the feeder has stopped and none is left."""
        while not self.items:
            if self.closed:
                return None
            self._put.clear()
            await self._put.wait()
        self._taken.set()
        return self.items.popleft()

    def done(self, n: int) -> None:
        self.outstanding -= n
        self._taken.set()

    def close(self) -> None:
        self.closed = True
        self._put.set()


class _Recorder:
    """Writes the lanes' outcomes: what arrives while one transaction commits goes into the
    next (group commit). Under load a transaction carries many messages, one statement per
    kind of outcome; when idle, each outcome is written at once."""

    def __init__(self, runner: OutboxRunner, lanes: int) -> None:
        self._runner = runner
        self._lanes = lanes  # running lanes; the recorder stops after the last one
        self._outcomes: list[tuple[_Flow, outbox.Outcome]] = []
        self._releases: list[tuple[_Flow, int, str, datetime]] = []
        self._ready = asyncio.Event()

    def add(self, flow: _Flow, outcomes: list[outbox.Outcome]) -> None:
        self._outcomes += [(flow, o) for o in outcomes]
        self._ready.set()

    def release(self, flow: _Flow, ids: list[int], detail: str, *, due: datetime) -> None:
        """Put items back unsent (no attempt counted), due again at ``due``."""
        self._releases += [(flow, i, detail, due) for i in ids]
        self._ready.set()

    def lane_done(self) -> None:
        self._lanes -= 1
        self._ready.set()

    async def run(self) -> None:
        """Record until every lane has stopped and nothing is left."""
        runner = self._runner
        while self._outcomes or self._releases or self._lanes > 0:
            if not (self._outcomes or self._releases):
                self._ready.clear()
                await self._ready.wait()
                continue
            outcomes, self._outcomes = self._outcomes, []
            releases, self._releases = self._releases, []
            try:
                await self._write(outcomes, releases)
            except (OperationalError, DBAPIError) as exc:
                if self._lanes == 0:  # stopping: the items stay `sending`, recovery requeues
                    log.error(
                        "store unavailable, %d outcomes not recorded: %s",
                        len(outcomes) + len(releases),
                        exc,
                    )
                    return
                log.error("store unavailable, outbox outcomes wait: %s", exc)
                self._outcomes[:0], self._releases[:0] = outcomes, releases
                await asyncio.sleep(runner._settings.poll_seconds)
                continue
            ids = [o.outbox_id for _, o in outcomes] + [i for _, i, _, _ in releases]
            runner._inflight.difference_update(ids)
            for flow in {f for f, _ in outcomes} | {f for f, *_ in releases}:
                flow.done(
                    sum(1 for f, _ in outcomes if f is flow)
                    + sum(1 for f, *_ in releases if f is flow)
                )

    async def _write(
        self,
        outcomes: list[tuple[_Flow, outbox.Outcome]],
        releases: list[tuple[_Flow, int, str, datetime]],
    ) -> None:
        now = utcnow()
        groups: dict[tuple[str, datetime], list[int]] = {}
        for _, item_id, detail, due in releases:
            groups.setdefault((detail, due), []).append(item_id)
        async with self._runner._sessions() as session, session.begin():
            await outbox.record_outcomes(session, [o for _, o in outcomes], now=now)
            for (detail, due), ids in groups.items():
                await outbox.release(session, ids, detail=detail, next_at=due, now=now)
