"""Tracked background work of a sandbox provider: delayed receipts and overdue notices.

Faults delay receipts on the simulated clock (`ProviderFaults`); that work must not outlive the
provider. Every task is kept here until it ends, failures are logged (never lost silently),
``settle`` waits for all of it and ``close`` cancels and awaits what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["DelayedWork"]

log = logging.getLogger(__name__)


class DelayedWork:
    """A set of tasks owned by one provider (``name`` is for the log)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; refused once closed."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"provider {self._name} is closed")
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("provider %s: delayed work failed", self._name, exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait until no task is left (tasks may spawn others)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Refuse new work, cancel what is pending and wait for it to stop."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
