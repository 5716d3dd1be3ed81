"""Watch one IMAP mailbox and turn every message in it into a committed inbox row.

The watcher's sole job: fetch what is new in the folder, hand the raw bytes to the `Ingestor`
(archive + inbox rows + mailbox position, one transaction), and only then acknowledge the
messages on the server (\\Seen, or a move to ``processed_folder``). Architecture §2.2 and
convention 5: acknowledge upstream only after a durable commit.

- Position: UIDVALIDITY and the last committed UID live in the store (``mailbox_position``),
  never in the server's \\Seen flags. A new UIDVALIDITY means the old UIDs are meaningless: the
  folder is read again from the start, and the ingest dedupe (source + mailbox + sha256) keeps
  that from duplicating anything.
- Waiting: IDLE when the server has it (re-issued every ``idle_renew_seconds``, RFC 2177),
  polling every ``poll_seconds`` otherwise. After each wake-up the folder is SELECTed again,
  which also notices a UIDVALIDITY change the server did not announce.
- Failures: network and server problems never escape `ImapWatcher.run`. The watcher reconnects
  with exponential backoff and jitter; an outage is logged once when it starts and once when it
  ends (Mailman's ``_logged`` flag), and recorded with `mailboxes.record_error` for
  ``pecora status``.
- Several nodes: the lease ``imap:<alias>`` makes one node at a time watch the mailbox; the
  holder renews it every ttl/3 and stops watching at once if a renewal fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config import ConfigError, MailboxSettings
from daemon.ingest import ImapMessage, Ingestor
from daemon.ingress.imap_session import ImapError, ImapSession, Selected
from store import leases, mailboxes
from store.clock import utcnow
from store.db import StoreUnavailable

log = logging.getLogger(__name__)

# Errors of the store's plumbing that a watcher treats as "the store is unavailable right now".
_STORE_ERRORS = (SQLAlchemyError, OSError)


@dataclass(slots=True)
class WatcherStats:
    """Counters for metrics and tests (how the watcher spent its time)."""

    sessions: int = 0  # IMAP logins that succeeded
    batches: int = 0  # batches committed
    messages: int = 0  # messages handed to the ingestor (including re-fetches)
    idles: int = 0  # IDLE commands issued
    polls: int = 0  # poll rounds (servers without IDLE)
    uidvalidity_changes: int = 0


def backoff_delay(attempt: int, cap: float) -> float:
    """Return the wait before retry number ``attempt`` (0-based): doubling, jittered, capped.

    "Equal jitter": somewhere in the upper half of the doubling step, so many watchers that
    lost the same server do not all come back in the same instant.
    """
    base = min(1.0, cap)
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return random.uniform(ceiling / 2, ceiling)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; return True as soon as ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    return stop.is_set()


class _Outage:
    """Log a problem once when it starts and once when it ends, and record it for the CLI."""

    def __init__(self, alias: str, record: Callable[[str | None], Awaitable[None]]) -> None:
        self._alias = alias
        self._record = record
        self.kind: str | None = None
        self._since = 0.0
        self.retries = 0

    async def failed(self, kind: str, exc: BaseException) -> None:
        if self.kind == kind:
            self.retries += 1
            log.debug("mailbox %s: still failing (%s): %s", self._alias, kind, exc)
            return
        if self.kind is None:
            self._since = time.monotonic()
        self.kind, self.retries = kind, 0
        log.warning(
            "mailbox %s: %s: %s; retrying with backoff (logged once until it recovers)",
            self._alias,
            kind,
            exc,
        )
        await self._record(f"{kind}: {exc}")

    async def recovered(self) -> None:
        if self.kind is None:
            return
        log.info(
            "mailbox %s: recovered from %s after %.1f s and %d retries",
            self._alias,
            self.kind,
            time.monotonic() - self._since,
            self.retries,
        )
        self.kind = None
        await self._record(None)


class ImapWatcher:
    """Watch the IMAP mailbox ``alias`` until told to stop; see the module docstring."""

    def __init__(
        self,
        alias: str,
        settings: MailboxSettings,
        ingestor: Ingestor,
        sessions: async_sessionmaker[AsyncSession],
        node_name: str,
        *,
        lease_ttl: timedelta = timedelta(seconds=30),
        ignore_capabilities: Iterable[str] = (),
    ) -> None:
        """``ignore_capabilities`` hides server capabilities (e.g. ``{"IDLE"}``, ``{"MOVE"}``)
        to force the polling or COPY+EXPUNGE fallbacks on servers that have them."""
        self.alias = alias
        self.settings = settings
        self.node_name = node_name
        self.lease_name = f"imap:{alias}"
        self.stats = WatcherStats()
        self._ingestor = ingestor
        self._sessions = sessions
        self._ttl = lease_ttl
        self._ignore = frozenset(c.upper() for c in ignore_capabilities)
        self._outage = _Outage(alias, self._record_error)
        self._failures = 0  # consecutive failed attempts: the backoff exponent
        self._uidvalidity_seen: tuple[int, int] | None = None  # (old, new) change already logged
        self.holding = False  # True while this node holds the lease and watches
        self._session_up = False  # the current connection got as far as SELECT

    # -- the outer loop: lease, then watch -------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the mailbox until ``stop`` is set; then leave IDLE, log out and return.

        Never raises because of the network, the IMAP server or the store: those are retried
        here. Only programming errors and cancellation escape.
        """
        log.info("mailbox %s: watcher starting on node %s", self.alias, self.node_name)
        while not stop.is_set():
            if not await self._wait_for_lease(stop):
                break
            lost = await self._watch_while_holding(stop)
            if not lost:
                break
        await self._release_lease()
        log.info("mailbox %s: watcher stopped", self.alias)

    async def _watch_while_holding(self, stop: asyncio.Event) -> bool:
        """Watch while the lease keeper renews the lease; return True if the lease was lost."""
        self.holding = True
        keeper = asyncio.create_task(self._keep_lease(stop), name=f"lease {self.lease_name}")
        watcher = asyncio.create_task(self._watch(stop), name=f"imap {self.alias}")
        try:
            await asyncio.wait({keeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if keeper.done() and keeper.result():
                # Another node may be watching already: stop at once, mid-batch if need be
                # (the batch's transaction rolls back; nothing was acknowledged for it).
                watcher.cancel()
            await asyncio.wait({watcher})
            keeper.cancel()
            await asyncio.wait({keeper})
        finally:
            self.holding = False
            for task in (keeper, watcher):
                task.cancel()
            await asyncio.gather(keeper, watcher, return_exceptions=True)
        if not watcher.cancelled() and (exc := watcher.exception()) is not None:
            raise exc  # a bug: crash-only (convention 11)
        return bool(keeper.done() and not keeper.cancelled() and keeper.result())

    async def _wait_for_lease(self, stop: asyncio.Event) -> bool:
        """Wait until this node holds the lease (True) or ``stop`` is set (False)."""
        told_holder: str | None = None
        store_down_logged = False
        poll = self._ttl.total_seconds() / 4
        while not stop.is_set():
            try:
                if await self._renew_lease():
                    log.info("mailbox %s: lease acquired by %s", self.alias, self.node_name)
                    return True
                holder = await self._lease_holder()
                if holder != told_holder:
                    log.info("mailbox %s: watched by node %s; standing by", self.alias, holder)
                    told_holder = holder
                store_down_logged = False
            except _STORE_ERRORS as exc:
                if not store_down_logged:
                    log.warning(
                        "mailbox %s: cannot reach the store for the lease: %s", self.alias, exc
                    )
                    store_down_logged = True
            if await wait_or_stop(stop, poll):
                break
        return False

    async def _keep_lease(self, stop: asyncio.Event) -> bool:
        """Renew the lease every ttl/3; return True when it is lost, False on stop."""
        interval = self._ttl.total_seconds() / 3
        while not await wait_or_stop(stop, interval):
            try:
                # Bounded: a renewal that takes longer than the lease has left is a lost lease.
                ok = await asyncio.wait_for(self._renew_lease(), timeout=interval)
            except (*_STORE_ERRORS, TimeoutError) as exc:
                log.warning(
                    "mailbox %s: lease renewal failed (%r): stopping the watch", self.alias, exc
                )
                return True
            if not ok:
                log.warning(
                    "mailbox %s: lease taken by another node: stopping the watch", self.alias
                )
                return True
        return False

    async def _renew_lease(self) -> bool:
        async with self._sessions() as session, session.begin():
            return await leases.acquire(
                session, self.lease_name, self.node_name, ttl=self._ttl, now=utcnow()
            )

    async def _lease_holder(self) -> str | None:
        async with self._sessions() as session:
            return await leases.holder_of(session, self.lease_name, now=utcnow())

    async def _release_lease(self) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await leases.release(session, self.lease_name, self.node_name)
        except _STORE_ERRORS as exc:  # it expires by itself
            log.debug("mailbox %s: lease not released: %s", self.alias, exc)

    # -- the connection loop ---------------------------------------------------------------

    async def _watch(self, stop: asyncio.Event) -> None:
        """Keep a session open, reconnecting with backoff, until ``stop`` is set."""
        while not stop.is_set():
            self._session_up = False
            try:
                await self._session(stop)
                return
            except ImapError as exc:
                if self._session_up:
                    # A working session broke (server restart, idle timeout): not an outage
                    # yet; it becomes one if reconnecting fails.
                    log.info("mailbox %s: connection lost (%s); reconnecting", self.alias, exc)
                else:
                    await self._outage.failed("IMAP server unavailable", exc)
            except StoreUnavailable as exc:
                # Nothing was acknowledged for the failed batch: it is fetched again later.
                await self._outage.failed("store unavailable", exc)
            except _STORE_ERRORS as exc:
                # What the ingestor does not translate (e.g. a pool timeout) is the same thing.
                await self._outage.failed("store unavailable", exc)
            except ConfigError as exc:
                await self._outage.failed("configuration", exc)
            delay = backoff_delay(self._failures, self.settings.backoff_max_seconds)
            self._failures += 1
            await wait_or_stop(stop, delay)

    async def _session(self, stop: asyncio.Event) -> None:
        """One connection: catch up, then IDLE or poll and catch up again, until ``stop``."""
        settings = self.settings
        imap = await ImapSession.open(
            settings, settings.password.resolve(), ignore_capabilities=self._ignore
        )
        try:
            self.stats.sessions += 1
            if settings.processed_folder:
                await imap.ensure_folder(settings.processed_folder)
            first_round = True
            while not stop.is_set():
                selected = await imap.select(settings.folder)
                self._session_up = True
                busy = await self._catch_up(imap, selected, stop, reconcile=first_round)
                if first_round:
                    first_round = False
                    self._failures = 0
                    await self._outage.recovered()
                if stop.is_set():
                    break
                if busy:
                    # Mail that arrived while we were fetching is announced as an untagged
                    # EXISTS on some other command's response, which aioimaplib drops; the
                    # server will not repeat it in IDLE. So only IDLE right after a SELECT
                    # that showed nothing new: anything later is pushed during the IDLE.
                    continue
                if imap.has("IDLE"):
                    self.stats.idles += 1
                    await imap.idle(stop, settings.idle_renew_seconds)
                else:
                    self.stats.polls += 1
                    if await wait_or_stop(stop, settings.poll_seconds):
                        break
            await imap.logout()
        finally:
            imap.abort()

    # -- catching up: fetch, commit, acknowledge -------------------------------------------

    async def _catch_up(
        self, imap: ImapSession, selected: Selected, stop: asyncio.Event, *, reconcile: bool
    ) -> bool:
        """Ingest every message above the stored position, batch by batch.

        Return True if there was anything to fetch (the caller then looks again before
        waiting).
        """
        uidvalidity, last_uid = await self._position()
        if uidvalidity is not None and uidvalidity != selected.uidvalidity:
            if self._uidvalidity_seen != (uidvalidity, selected.uidvalidity):
                self._uidvalidity_seen = (uidvalidity, selected.uidvalidity)
                self.stats.uidvalidity_changes += 1
                log.warning(
                    "mailbox %s: UIDVALIDITY changed from %d to %d: reading %s again from the "
                    "start (messages already ingested are deduplicated)",
                    self.alias,
                    uidvalidity,
                    selected.uidvalidity,
                    self.settings.folder,
                )
            first = 1
        else:
            first = last_uid + 1
            if reconcile and uidvalidity is not None and last_uid > 0:
                await self._acknowledge_leftovers(imap, last_uid)
        if selected.exists == 0 or (selected.uidnext is not None and selected.uidnext <= first):
            return False  # nothing new: spare the SEARCH round trip
        uids = await imap.uids_from(first)
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            committed = await self._ingest_batch(
                imap, selected.uidvalidity, uids[start : start + size]
            )
            if committed:
                await self._acknowledge(imap, committed)
            if stop.is_set():
                break  # the rest is fetched next time; the position says where we are
        return bool(uids)

    async def _ingest_batch(
        self, imap: ImapSession, uidvalidity: int, uids: Sequence[int]
    ) -> list[int]:
        """Fetch ``uids``, commit them through the ingestor; return the UIDs committed."""
        fetched = await imap.fetch(uids)
        bodies = {uid: fetched.bodies[uid] for uid in uids if uid in fetched.bodies}
        for uid in (u for u in uids if u not in bodies):
            # The batch answer lacked this one (NO for a broken message, an odd response, or
            # it was expunged meanwhile): ask for it alone so one bad message cannot stop the
            # mailbox.
            single = await imap.fetch([uid])
            if uid in single.bodies:
                bodies[uid] = single.bodies[uid]
            elif single.refused:
                log.error(
                    "mailbox %s: server refused to FETCH UID %d/%d; ingesting a "
                    "placeholder for the inbox runner to quarantine",
                    self.alias,
                    uidvalidity,
                    uid,
                )
                bodies[uid] = self._placeholder(uidvalidity, uid)
            else:
                log.info("mailbox %s: UID %d vanished before it was fetched", self.alias, uid)
        messages = [ImapMessage(uid, bodies[uid]) for uid in uids if uid in bodies]
        if not messages:
            return []
        await self._ingestor.ingest_imap(self.alias, uidvalidity, messages)
        self.stats.batches += 1
        self.stats.messages += len(messages)
        return [m.uid for m in messages]

    def _placeholder(self, uidvalidity: int, uid: int) -> bytes:
        # Unique per message (so the dedupe keeps them apart) and obviously not a real mail.
        return (
            f"X-Pecora-Ingress-Error: the IMAP server refused to FETCH this message\r\n"
            f"X-Pecora-Mailbox: {self.alias}\r\n"
            f"X-Pecora-Imap-Uid: {uidvalidity}/{uid}\r\n\r\n"
        ).encode()

    async def _acknowledge(self, imap: ImapSession, uids: Sequence[int]) -> None:
        """Tell the server these messages are safe with us: move them, or set \\Seen."""
        if self.settings.processed_folder:
            await imap.move(uids, self.settings.processed_folder)
        else:
            await imap.mark_seen(uids)

    async def _acknowledge_leftovers(self, imap: ImapSession, last_uid: int) -> None:
        """Acknowledge messages committed before a crash or disconnect but never acknowledged.

        Every UID up to the stored position was committed, so anything at or below it still in
        the folder (move mode) or still unseen (\\Seen mode) lost its acknowledgement.
        """
        criteria = ["UID", f"1:{last_uid}"]
        if not self.settings.processed_folder:
            criteria.append("UNSEEN")
        uids = await imap.search(*criteria)
        if not uids:
            return
        log.info("mailbox %s: acknowledging %d message(s) committed earlier", self.alias, len(uids))
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            await self._acknowledge(imap, uids[start : start + size])

    # -- store access ----------------------------------------------------------------------

    async def _position(self) -> tuple[int | None, int]:
        """Return the stored (UIDVALIDITY, last UID); (None, 0) for a mailbox never synced."""
        try:
            async with self._sessions() as session:
                row = await mailboxes.position(session, self.alias)
        except _STORE_ERRORS as exc:
            raise StoreUnavailable(str(exc)) from exc
        if row is None:
            return None, 0
        return row.uidvalidity, row.last_uid

    async def _record_error(self, error: str | None) -> None:
        """Best effort: the store may be the thing that is down."""
        try:
            async with self._sessions() as session, session.begin():
                await mailboxes.record_error(session, self.alias, error, now=utcnow())
        except _STORE_ERRORS as exc:
            log.debug("mailbox %s: could not record the error: %s", self.alias, exc)
