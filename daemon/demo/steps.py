"""One row of the demo's summary, and waiting on a condition with a deadline.

A `Step` says what should happen (``expected``), what did (``observed``) and its ``status``,
``ok`` or ``failed``; a failed row's observed outcome says where things stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

Status = Literal["ok", "failed"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the summary."""

    area: str
    step: str
    expected: str
    observed: str
    status: Status

    def to_json(self) -> dict[str, Any]:
        """The row as ``--json`` prints it."""
        return asdict(self)


def step(area: str, name: str, expected: str, observed: str, ok: bool) -> Step:
    """A row that is ``ok`` when ``ok`` else ``failed``."""
    return Step(area, name, expected, observed, "ok" if ok else "failed")


class NotReached(Exception):
    """The condition did not hold within its time; ``last`` is what was seen last."""

    def __init__(self, last: object, patience: float) -> None:
        super().__init__(f"not reached within {patience:g} s")
        self.last = last


async def until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    patience: float,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until ``done(value)``; raise `NotReached` with the last value after
    ``patience`` seconds (the last value goes into the summary: it says where things stopped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        value = await probe()
        if done(value):
            return value
        if loop.time() > deadline:
            raise NotReached(value, patience)
        await asyncio.sleep(interval)
