"""Where the inbox's pure pipelines run: worker processes, or a thread of the daemon.

Handlers are pure (an item's bytes and the configuration's facts in, an `Outcome` out), so an
item can be decided in another process with nothing shared. `ProcessDecider` does that: the
daemon's process keeps the I/O (IMAP, LMTP, SQL, archive) and the interpreter lock for it,
while parsing MIME and XML and verifying signatures run on the other cores. On two cores this
is what lets the passive intake reach its target (bench/bench_passive_intake.py): in a
thread, deciding and applying take turns holding the one interpreter lock.

It also contains a decoder crash. A worker that dies on an item (a segfault in a C parser, the
kernel's OOM killer) breaks the pool; the items in flight are then decided again one by one,
each in a fresh pool, and one that kills a worker twice by itself is shunted with that
reason while the daemon goes on (in a thread, the whole daemon would die, and only the
inbox's careful mode after the restart would find the culprit).

The workers are spawned (not forked: the daemon has threads) at the first item, get the facts
once, and ignore SIGINT and SIGTERM: the daemon stops them after finishing the batch in hand.
One whose daemon was killed outright exits by itself within a second.
``[inbox] decide_workers = 0`` keeps deciding in a thread (`ThreadDecider`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from handlers.run import process
from handlers.work import Outcome, Work

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """An item's outcome, or the error (with its traceback) that shunts it."""

    outcome: Outcome | None
    error: str | None = None
    traceback: str | None = None


class Decider(Protocol):
    """Runs the pipelines for a batch of items (given without facts: the decider adds them)."""

    async def decide(self, works: Sequence[Work]) -> list[Verdict]:
        """One verdict per work, in order; never raises for an item's fault."""
        ...

    async def start(self) -> None:
        """Have the workers ready (before any item is claimed for them)."""
        ...

    async def close(self) -> None:
        """Release workers; nothing is being decided."""
        ...


def auto_workers() -> int:
    """Worker processes when not configured: a core is left to the daemon's own process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cores or 1) - 1))


def _run(work: Work, facts: tuple[object, ...], max_bytes: int,
         target: Callable[..., Outcome]) -> Verdict:
    try:
        return Verdict(target(work.with_facts(*facts), max_bytes=max_bytes))
    except Exception as exc:  # a bug in a handler: the item is shunted with its traceback
        return Verdict(None, f"{type(exc).__name__}: {exc}", traceback.format_exc())


class ThreadDecider:
    """Decides in a thread of this process, one item after the other."""

    def __init__(self, facts: tuple[object, ...], *, max_bytes: int,
                 target: Callable[..., Outcome] | None = None) -> None:
        self._facts = facts
        self._max_bytes = max_bytes
        self._target = target

    async def decide(self, works: Sequence[Work]) -> list[Verdict]:
        """See `Decider.decide`."""
        # `process` is looked up at each call so that tests may replace it.
        target = self._target or process
        return [await asyncio.to_thread(_run, w, self._facts, self._max_bytes, target)
                for w in works]

    async def start(self) -> None:
        """See `Decider.start`: nothing to start."""

    async def close(self) -> None:
        """See `Decider.close`."""


# In a worker process: the facts, sent once when it starts.
_WORKER_FACTS: tuple[object, ...] = ()


def _start_worker(facts: tuple[object, ...], parent: int) -> None:
    global _WORKER_FACTS
    _WORKER_FACTS = facts
    # systemd signals the whole unit on stop: the daemon decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                     name="parent-watch").start()


def _exit_with_parent(parent: int) -> None:
    # A daemon killed with -9 cannot stop its workers, and they ignore SIGTERM: an orphan is
    # reparented, so it notices within a second and leaves instead of waiting forever. The
    # daemon's pid comes from the daemon: it may have died before this worker got here.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _decide_in_worker(work: Work, max_bytes: int, target: Callable[..., Outcome]) -> Verdict:
    return _run(work, _WORKER_FACTS, max_bytes, target)


class ProcessDecider:
    """Decides in worker processes, a batch's items in parallel (see the module docstring)."""

    def __init__(self, facts: tuple[object, ...], *, max_bytes: int, workers: int,
                 target: Callable[..., Outcome] = process) -> None:
        if workers < 1:
            raise ValueError("a process decider needs at least one worker")
        self._facts = facts
        self._max_bytes = max_bytes
        self._workers = workers
        # A module-level function, pickled by name: tests pass one that crashes on purpose.
        self._target = target
        self._pool: ProcessPoolExecutor | None = None
        self._fallback: ThreadDecider | None = None  # when workers cannot start at all

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self._facts, os.getpid()))
        return self._pool

    async def start(self) -> None:
        """See `Decider.start`: spawn every worker, and wait for one answer per worker.

        A worker takes a second or more to start (it imports the parsers). Were it started by
        the first item, a daemon killed during that second would leave the item claimed, and
        the inbox's recovery would count that as the item crashing the daemon. (A quick worker
        may give two answers while another is still starting: at least one is ready.)
        """
        loop = asyncio.get_running_loop()
        try:
            pool = self._executor()
            await asyncio.gather(*(loop.run_in_executor(pool, _ready)
                                   for _ in range(self._workers)))
        except Exception:
            # Facts that cannot be pickled, no /dev/shm, a sandbox forbidding processes:
            # deciding goes on in a thread rather than shunting every item.
            log.exception("decide workers could not start: deciding in a thread instead")
            await self._restart()
            self._fallback = ThreadDecider(self._facts, max_bytes=self._max_bytes,
                                           target=self._target)

    async def _submit(self, work: Work) -> Verdict:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor(), _decide_in_worker, work, self._max_bytes, self._target)
        except BrokenProcessPool:
            raise
        except Exception as exc:  # e.g. an outcome that cannot be sent back (not picklable)
            return Verdict(None, f"{type(exc).__name__}: {exc}", traceback.format_exc())

    async def decide(self, works: Sequence[Work]) -> list[Verdict]:
        """See `Decider.decide`."""
        if self._pool is None and self._fallback is None:
            await self.start()  # `drain` and tests do not call it
        if self._fallback is not None:
            return await self._fallback.decide(works)
        done = await asyncio.gather(*(self._submit(w) for w in works), return_exceptions=True)
        if not any(isinstance(v, BrokenProcessPool) for v in done):
            return [self._verdict(v) for v in done]
        # A worker died with these items in flight: find the one that kills it, alone.
        await self._restart()
        return [await self._alone(w) for w in works]

    @staticmethod
    def _verdict(v: Verdict | BaseException) -> Verdict:
        if isinstance(v, BaseException):  # not raised by _submit; kept for the type checker
            raise v
        return v

    async def _alone(self, work: Work) -> Verdict:
        for _ in range(2):  # twice: a worker killed for another reason is not the item's fault
            try:
                return await self._submit(work)
            except BrokenProcessPool:
                await self._restart()
        return Verdict(None, "the decoding process died twice on this item (crash or out of "
                             "memory in a parser): kept for an operator")

    async def _restart(self) -> None:
        """Drop a broken pool; its surviving workers are killed (they ignore SIGTERM)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor terminates the survivors of a break with SIGTERM, which our workers
        # ignore, and does not wait for them: without this they would linger, blocked.
        survivors = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in survivors:
            if proc.is_alive():
                proc.kill()
        await asyncio.gather(*(asyncio.to_thread(proc.join, 10) for proc in survivors))

    async def close(self) -> None:
        """See `Decider.close`: the workers finish and exit."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
