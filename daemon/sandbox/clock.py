"""Simulated time for the sandbox: days of SdI deadlines pass in seconds (tests, `pecora demo`).

A `FastClock` runs ``factor`` times faster than real time from ``start``; ``sleep`` takes
simulated seconds. Factor 1 is real time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class FastClock:
    """Simulated wall clock: ``now() = start + (monotonic elapsed) * factor``."""

    def __init__(self, factor: float = 1.0, start: datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("clock factor must be positive")
        self.factor = factor
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        """The simulated current time (aware, UTC)."""
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.factor)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.factor)

    async def sleep_until(self, when: datetime) -> None:
        """Sleep until the simulated time reaches ``when``."""
        await self.sleep((when - self.now()).total_seconds())
