"""Apply a pipeline's effects to the store, inside the caller's transaction (the imperative shell).

Each effect type is mapped to store calls by *appliers*, registered per feature area in
``daemon/appliers/*.py`` (found automatically, so an area never edits a shared table). Several
appliers may serve one effect type: they are tried in order, ``fallback`` ones last, and the
first that takes the effect wins (an SdI notification may be about an invoice we sent or one we
received; a PEC receipt about an invoice, a campaign message, or nothing we know). An effect that
no applier takes raises `Unmatched`: the item is quarantined with that reason, not lost. An effect
type with no applier at all is a programming error (`TypeError`): the item is shunted.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
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
