"""Rate-limit maths for the outbox runner: a token bucket and a sliding-window quota.

Pure and clock-free: every method takes ``now`` (monotonic seconds), so the maths is tested
without sleeping and the runner decides how to wait. The window keeps one counter per whole
second, so a daily quota costs at most 86,400 small entries, not one per message.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up (listmonk's message_rate)."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    last: float | None = field(default=None, init=False)
    blocked_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if self.last is not None:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now

    def take(self, now: float, want: int) -> int:
        """Grant up to ``want`` whole tokens now (possibly 0)."""
        self._refill(now)
        if now < self.blocked_until:
            return 0
        granted = min(want, int(self.tokens))
        self.tokens -= granted
        return granted

    def give_back(self, n: int) -> None:
        """Return tokens taken but not used (fewer items were due than granted)."""
        self.tokens = min(float(self.burst), self.tokens + n)

    def wait(self, now: float) -> float:
        """Seconds until one token is available."""
        self._refill(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def block(self, now: float, seconds: float) -> None:
        """Stop granting for ``seconds`` (a provider's 429 ``Retry-After``), then start empty."""
        self.blocked_until = max(self.blocked_until, now + seconds)
        self.tokens = 0.0


@dataclass
class SlidingWindow:
    """At most ``quota`` sends in any ``seconds``-long window (a provider's daily quota)."""

    quota: int
    seconds: float
    _slots: deque[list[float]] = field(default_factory=deque, init=False)  # [second, count]
    _used: int = field(default=0, init=False)

    def _expire(self, now: float) -> None:
        while self._slots and self._slots[0][0] <= now - self.seconds:
            self._used -= int(self._slots.popleft()[1])

    def available(self, now: float) -> int:
        """How many sends the window still allows now."""
        self._expire(now)
        return max(0, self.quota - self._used)

    def record(self, now: float, n: int = 1) -> None:
        """Count ``n`` sends at ``now``."""
        if n <= 0:
            return
        second = math.floor(now)
        if self._slots and self._slots[-1][0] == second:
            self._slots[-1][1] += n
        else:
            self._slots.append([float(second), float(n)])
        self._used += n

    def wait(self, now: float) -> float:
        """Seconds until the window frees a slot (0 when one is free)."""
        self._expire(now)
        if self._used < self.quota or not self._slots:
            return 0.0
        excess = self._used - self.quota + 1
        for second, count in self._slots:
            excess -= int(count)
            if excess <= 0:
                return max(0.0, second + self.seconds - now)
        return self.seconds  # pragma: no cover - excess is bounded by _used


_RETRY_AFTER = re.compile(r"retry-after=(\d+(?:\.\d+)?)")


def retry_after(detail: str) -> float | None:
    """Read the ``retry-after=N`` a channel put in a delivery detail (HTTP 429), if any."""
    match = _RETRY_AFTER.search(detail)
    return float(match.group(1)) if match else None


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Exponential back-off: ``base`` doubled per attempt, at most ``cap`` (Sinch's schedule)."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))
