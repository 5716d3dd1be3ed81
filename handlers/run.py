"""Run one item through its route's pipeline and say what should happen (`Outcome`)."""

from __future__ import annotations

from handlers.mail import prepare
from handlers.registry import HANDLERS
from handlers.routes import PIPELINES, ROUTES, route
from handlers.work import Disposition, Outcome, Stop, Work


def run_pipeline(steps: tuple[str, ...], work: Work) -> Work | Stop:
    """Apply each step in order until one returns a `Stop`."""
    for step in steps:
        result = HANDLERS[step](work)
        if isinstance(result, Stop):
            return result
        work = result
    return work


def process(
    work: Work,
    *,
    max_bytes: int,
    routes: tuple[tuple[str, str], ...] = ROUTES,
    pipelines: dict[str, tuple[str, ...]] = PIPELINES,
) -> Outcome:
    """Prepare ``work``, route it, run its pipeline; exceptions mean bugs and propagate."""
    work = prepare(work, max_bytes=max_bytes)
    name = route(work, routes)
    result = run_pipeline(pipelines[name], work)
    if isinstance(result, Stop):
        return Outcome(name, result.disposition, result.reason, result.effects)
    return Outcome(name, Disposition.DONE, "processed", result.effects)
