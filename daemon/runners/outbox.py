"""The outbox runner: the only code that sends. It drains due outbox items through channels.

Retry policy lives here, not in the channels (Mailman's OutgoingRunner, arq's Retry): a
temporary failure is retried on the channel's backoff schedule until ``max_attempts`` or
``deliver_until``, then fails; a connection-level failure keeps the batch queued, counts no
attempt and is logged once per outage.

So do rate limits (issue 8): per channel alias a token bucket, a sliding-window quota and a
concurrency cap. `run` drives one lane per allowed concurrent send (a `ChannelPool` lane, or
the channel itself when it takes concurrent sends), each claiming only what its limiter grants,
so sending on one lane overlaps with recording on another.

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
from store.models import OutboxItem

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
            for item_id, receipt in done.items():
                await outbox.mark_sent(
                    session,
                    item_id,
                    provider_ref=next(r.message_id for r in rows if r.id == item_id),
                    detail=f"not submitted again: the provider's {receipt} names it",
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
        """Send until ``stop`` is set; the batch in hand is finished first."""
        try:
            async with asyncio.TaskGroup() as tg:
                for alias in self._channels:
                    lanes = self.lanes(alias)
                    for n, channel in enumerate(lanes):
                        tg.create_task(
                            self._lane(alias, channel, len(lanes), stop),
                            name=f"outbox-{alias}-{n}",
                        )
        finally:
            for channel in self._channels.values():
                await channel.close()

    async def _lane(self, alias: str, channel: Channel, lanes: int, stop: asyncio.Event) -> None:
        limiter = self._limiters[alias]
        # Small claims per lane spread a burst over every lane instead of one taking it all.
        want = max(1, -(-self._settings.batch_size // lanes))
        while not stop.is_set():
            self._metrics.heartbeat("outbox")
            try:
                granted = await limiter.acquire(want, stop)
                if not granted:
                    return
                rows = await self._claim(alias, granted)
                limiter.used(granted, len(rows))
                if rows:
                    await self._send(alias, rows, channel)
                    continue
            except (OperationalError, DBAPIError) as exc:
                log.error("store unavailable, outbox paused: %s", exc)
            await self._idle(stop)

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

    async def _send(
        self, alias: str, items: list[OutboxItem], channel: Channel | None = None
    ) -> None:
        try:
            await self._send_claimed(alias, items, channel or self._channels[alias])
        finally:
            self._inflight.difference_update(i.id for i in items)

    async def _send_claimed(self, alias: str, items: list[OutboxItem], channel: Channel) -> None:
        batch = [
            Outgoing(i.id, i.sender, tuple(i.recipients), i.payload, i.message_id) for i in items
        ]
        try:
            deliveries = await channel.send(batch)
        except ChannelUnavailable as exc:
            await self._record(alias, items, exc.partial)
            done = {d.outbox_id for d in exc.partial}
            rest = [i.id for i in items if i.id not in done]
            now = utcnow()
            async with self._sessions() as session, session.begin():
                await outbox.release(
                    session,
                    rest,
                    detail=str(exc),
                    next_at=now + timedelta(seconds=self._settings.unavailable_retry_seconds),
                    now=now,
                )
            if alias not in self._down:
                log.error("channel %s unavailable, %d items kept queued: %s", alias, len(rest), exc)
                self._down.add(alias)
            self._metrics.count("channel_unavailable", channel=alias)
            return
        if alias in self._down:
            log.warning("channel %s available again", alias)
            self._down.discard(alias)
        await self._record(alias, items, deliveries)

    async def _record(
        self, alias: str, items: list[OutboxItem], deliveries: list[Delivery]
    ) -> None:
        if not deliveries:
            return
        rows = {i.id: i for i in items}
        policy = self._policies.get(alias, RetryPolicy())
        now = utcnow()
        async with self._sessions() as session, session.begin():
            for d in deliveries:
                row = rows[d.outbox_id]
                if d.status == "sent":
                    await outbox.mark_sent(
                        session, row.id, provider_ref=d.provider_ref, detail=d.detail, now=now
                    )
                    self._metrics.count("sent", channel=alias)
                    continue
                attempts = row.attempts + 1
                if (pause := retry_after(d.detail)) is not None:  # 429 + Retry-After
                    self._limiters[alias].back_off(pause)
                until = row.deliver_until or row.created_at + timedelta(
                    hours=policy.deliver_until_hours
                )
                retry_at = next_attempt(policy, attempts, now)
                if d.status == "retry" and attempts < policy.max_attempts and retry_at <= until:
                    await outbox.mark_retry(
                        session, row.id, next_at=retry_at, detail=d.detail, now=now
                    )
                    self._metrics.count("retried", channel=alias)
                else:
                    why = (
                        d.detail
                        if d.status == "failed"
                        else f"gave up after {attempts} attempts: {d.detail}"
                    )
                    await outbox.mark_failed(session, row.id, detail=why, now=now)
                    log.error("outbox item %d failed on %s: %s", row.id, alias, why)
                    self._metrics.count("failed", channel=alias)

    async def _idle(self, stop: asyncio.Event) -> None:
        async with self._sessions() as session:
            due = await outbox.next_due(session)
        wait = self._settings.poll_seconds
        if due is not None:
            wait = max(0.05, min(wait, (due - utcnow()).total_seconds()))
        self._wake.clear()
        await wait_any(self._wake, stop, timeout=wait)
