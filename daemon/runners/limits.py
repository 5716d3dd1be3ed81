"""Per-channel rate limiting for the outbox runner: token bucket plus sliding-window quota.

The maths is pure (handlers/messaging/ratelimit.py); this wraps it in waiting. Limits are per
process: with several nodes, give each node its share of the provider's rate (XXX: a shared
window in the database would make daily quotas exact across nodes).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from daemon.waiting import wait_any
from handlers.messaging.ratelimit import SlidingWindow, TokenBucket


class RateConfig(Protocol):
    """The fields of `daemon.config.RateLimit` read here."""

    per_second: float | None
    burst: int
    max_concurrency: int
    window_quota: int | None
    window_seconds: float


class Limiter:
    """Grants sends for one channel alias."""

    def __init__(self, cfg: RateConfig | None) -> None:
        self.cfg = cfg
        self.bucket = (
            TokenBucket(cfg.per_second, cfg.burst) if cfg and cfg.per_second is not None else None
        )
        self.window = (
            SlidingWindow(cfg.window_quota, cfg.window_seconds)
            if cfg and cfg.window_quota is not None
            else None
        )
        self._blocked_until = 0.0

    @property
    def concurrency(self) -> int:
        """How many sends may be in flight at once."""
        return self.cfg.max_concurrency if self.cfg else 1

    def grant(self, want: int, now: float | None = None) -> tuple[int, float]:
        """Return (granted, seconds to wait if 0 granted) without blocking."""
        now = time.monotonic() if now is None else now
        if now < self._blocked_until:
            return 0, self._blocked_until - now
        allowed = want
        if self.window is not None:
            allowed = min(allowed, self.window.available(now))
            if allowed == 0:
                return 0, max(0.01, self.window.wait(now))
        if self.bucket is not None:
            allowed = self.bucket.take(now, allowed)
            if allowed == 0:
                return 0, max(0.001, self.bucket.wait(now))
        return allowed, 0.0

    async def acquire(self, want: int, stop: asyncio.Event) -> int:
        """Wait until at least one send is allowed (or ``stop``); return how many."""
        while not stop.is_set():
            granted, wait = self.grant(want)
            if granted:
                return granted
            await wait_any(stop, timeout=wait)
        return 0

    def used(self, granted: int, used: int) -> None:
        """Count ``used`` sends and give back the rest of ``granted``."""
        if self.bucket is not None and granted > used:
            self.bucket.give_back(granted - used)
        if self.window is not None:
            self.window.record(time.monotonic(), used)

    def blocked_for(self) -> float:
        """Seconds left of a `back_off` pause (0 when sends may go)."""
        return max(0.0, self._blocked_until - time.monotonic())

    def back_off(self, seconds: float) -> None:
        """Stop sending for ``seconds`` (the provider said 429 with Retry-After)."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)
