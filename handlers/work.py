"""The values that flow through a pipeline: `Work` (facts and effects so far) and `Stop`.

A handler receives a `Work` and returns a new one with more facts or effects, or a `Stop` that
ends the pipeline with a disposition and a reason. Nothing here performs I/O: the runner applies
the effects in one transaction after the pipeline has decided.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")


class Disposition(enum.StrEnum):
    """How a pipeline ended for an inbox item."""

    DONE = "done"
    QUARANTINE = "quarantined"  # kept raw, held for an operator with a reason


@dataclass(frozen=True, slots=True)
class Effect:
    """Base class of everything a handler asks the runner to do (rows, archive, outbox)."""


@dataclass(frozen=True, slots=True)
class Work:
    """One inbox item being processed: the raw bytes, where they came from, what we learned."""

    item_id: int
    raw: bytes
    received_at: datetime
    source: str
    mailbox: str | None = None
    facts: tuple[object, ...] = ()
    effects: tuple[Effect, ...] = ()

    def fact(self, kind: type[T]) -> T | None:
        """Return the first fact of type ``kind``, or None."""
        for fact in self.facts:
            if isinstance(fact, kind):
                return fact
        return None

    def require(self, kind: type[T]) -> T:
        """Return the fact of type ``kind``; its absence is a routing bug, so say so loudly."""
        found = self.fact(kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} fact on item {self.item_id}: check the routes")
        return found

    def with_facts(self, *facts: object) -> Work:
        """Return a copy with ``facts`` added."""
        return replace(self, facts=self.facts + facts)

    def with_effects(self, *effects: Effect) -> Work:
        """Return a copy with ``effects`` added."""
        return replace(self, effects=self.effects + effects)

    def stop(self, disposition: Disposition, reason: str) -> Stop:
        """End the pipeline here, keeping the effects decided so far."""
        return Stop(disposition=disposition, reason=reason, effects=self.effects)


@dataclass(frozen=True, slots=True)
class Stop:
    """A pipeline's early end: its disposition, a reason for people, and the effects so far."""

    disposition: Disposition
    reason: str
    effects: tuple[Effect, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing decided for one item: route, disposition, reason and effects to apply."""

    route: str
    disposition: Disposition
    reason: str
    effects: tuple[Effect, ...]
