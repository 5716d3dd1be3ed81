"""Apply a pipeline's effects to the store, inside the caller's transaction (the imperative shell).

Each effect type is mapped to store calls by *appliers*, registered per feature area in
``daemon/appliers/*.py`` (found automatically, so an area never edits a shared table). Several
appliers may serve one effect type: they are tried in order, ``fallback`` ones last, and the
first that takes the effect wins (an SdI notification may be about an invoice we sent or one we
received; a PEC receipt about an invoice, a campaign message, or nothing we know). An effect that
no applier takes raises `Unmatched`: the item is quarantined with that reason, not lost. An effect
type with no applier at all is a programming error (`TypeError`): the item is shunted.

An effect type may also have a *batch applier* (`batch_applier`): the inbox runner hands it the
effects of several items at once (`apply_batch`), so a batch of deliveries costs a few bulk
statements instead of a dozen per item. It takes only the items whose outcome is the same as
one by one (e.g. files that duplicate nothing); the runner applies the others with `apply`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.work import Effect
from store.archive import Archive


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """What appliers may use besides the session: the inbox item, the time, the archive."""

    inbox_id: int | None
    now: datetime
    archive: Archive


class Unmatched(Exception):
    """No applier took the effect (e.g. a notification about a file we do not know)."""


Applier = Callable[[AsyncSession, Effect, ApplyContext], Awaitable[bool]]
APPLIERS: dict[type[Effect], list[Applier]] = {}
_FALLBACKS: dict[type[Effect], list[Applier]] = {}


def applier(effect_type: type[Effect], *, fallback: bool = False) -> Callable[[Applier], Applier]:
    """Register an applier for ``effect_type``; it returns True when it took the effect."""

    def register(func: Applier) -> Applier:
        (_FALLBACKS if fallback else APPLIERS).setdefault(effect_type, []).append(func)
        return func

    return register


BatchApplier = Callable[
    [AsyncSession, Sequence[tuple[Effect, ApplyContext]]], Awaitable[list[bool]]
]
BATCH_APPLIERS: dict[type[Effect], BatchApplier] = {}


def batch_applier(effect_type: type[Effect]) -> Callable[[BatchApplier], BatchApplier]:
    """Register the applier of many items' ``effect_type`` effects at once (one per type)."""

    def register(func: BatchApplier) -> BatchApplier:
        if effect_type in BATCH_APPLIERS:
            raise TypeError(f"two batch appliers for {effect_type.__name__}")
        BATCH_APPLIERS[effect_type] = func
        return func

    return register


def batch_kind(effects: tuple[Effect, ...]) -> type[Effect] | None:
    """The effect type by which an item may be applied together with others, if any."""
    if len(effects) == 1 and type(effects[0]) in BATCH_APPLIERS:
        return type(effects[0])
    return None


async def apply_batch(
    session: AsyncSession, effect_type: type[Effect], items: Sequence[tuple[Effect, ApplyContext]]
) -> list[bool]:
    """Apply the single ``effect_type`` effect of several items at once; say which it took.

    Run it in a savepoint of its own: if it raises, roll that back and `apply` each item alone.
    """
    taken = await BATCH_APPLIERS[effect_type](session, items)
    await session.flush()
    return taken


def _candidates(effect_type: type[Effect]) -> list[Applier]:
    return APPLIERS.get(effect_type, []) + _FALLBACKS.get(effect_type, [])


def load_appliers() -> None:
    """Import every module in ``daemon/appliers`` so their appliers are registered."""
    package = Path(__file__).parent / "appliers"
    for info in pkgutil.iter_modules([str(package)]):
        importlib.import_module(f"daemon.appliers.{info.name}")


async def apply(session: AsyncSession, effects: tuple[Effect, ...], ctx: ApplyContext) -> None:
    """Apply every effect in order (see the module docstring for the rules)."""
    for effect in effects:
        candidates = _candidates(type(effect))
        if not candidates:
            raise TypeError(f"no applier for effect {type(effect).__name__}")
        for candidate in candidates:
            if await candidate(session, effect, ctx):
                break
        else:
            raise Unmatched(
                getattr(effect, "unmatched_reason", None) or f"{effect!r} matched nothing"
            )
    await session.flush()


load_appliers()
