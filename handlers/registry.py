"""The handler registry: kebab-case names to pure handler functions (Mailman's component keys)."""

from __future__ import annotations

from collections.abc import Callable

from handlers.work import Stop, Work

Handler = Callable[[Work], Work | Stop]
Predicate = Callable[[Work], bool]

HANDLERS: dict[str, Handler] = {}
PREDICATES: dict[str, Predicate] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register a pipeline step under ``name``; a name registered twice is an error."""

    def register(func: Handler) -> Handler:
        if name in HANDLERS:
            raise ValueError(f"handler {name!r} registered twice")
        HANDLERS[name] = func
        return func

    return register


def predicate(name: str) -> Callable[[Predicate], Predicate]:
    """Register a routing predicate under ``name``; a name registered twice is an error."""

    def register(func: Predicate) -> Predicate:
        if name in PREDICATES:
            raise ValueError(f"predicate {name!r} registered twice")
        PREDICATES[name] = func
        return func

    return register
