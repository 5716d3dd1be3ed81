"""SLA maths in desk hours: how much desk time has passed, when a target falls due, and whether
to warn (chatops-and-messaging.md §A.4).

Desk hours are weekly intervals (Mon-Fri 09:00-13:00 and 14:00-18:00) in the desk's timezone,
minus Italian public holidays (the ``holidays`` package: Easter Monday, 25-26 December, and
San Francesco on 4 October again from 2026) and configured closures, plus configured "open
anyway" days. The clock is recomputed from the ticket's status history on every read (never a
decrementing counter, Zammad's lesson): time spent waiting for the customer, or resolved before
a reopen, is subtracted. Intervals are built as aware local datetimes and converted to UTC
before any subtraction, because Python subtracts two datetimes sharing a ZoneInfo in wall-clock
time, which is wrong across a DST change.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

Span = tuple[datetime, datetime]

DEFAULT_HOURS: dict[int, tuple[tuple[time, time], ...]] = {
    weekday: ((time(9), time(13)), (time(14), time(18))) for weekday in range(5)
}
# Statuses during which the resolution clock does not run (store.tickets.Status values; the
# names are repeated here because handlers never import the store).
PAUSED = frozenset({"waiting-customer", "resolved", "closed"})
DONE = frozenset({"resolved", "closed"})
_MAX_DAYS = 3 * 366  # a target longer than this is a configuration mistake, not a due date


@dataclass(frozen=True)
class DeskCalendar:
    """When the desk is open: weekly intervals in ``tz``, minus days for which ``closed`` holds."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[tuple[time, time], ...]]
    closed: Callable[[date], bool]

    def spans(self, day: date) -> list[Span]:
        """Return the day's open intervals as UTC datetimes (none on a closed day)."""
        if self.closed(day):
            return []
        return [
            (
                datetime.combine(day, start, self.tz).astimezone(UTC),
                datetime.combine(day, end, self.tz).astimezone(UTC),
            )
            for start, end in self.hours.get(day.weekday(), ())
        ]

    def local_day(self, at: datetime) -> date:
        """Return the desk's calendar day at instant ``at``."""
        return at.astimezone(self.tz).date()


def italian_desk(
    *,
    tz: str = "Europe/Rome",
    hours: Mapping[int, tuple[tuple[time, time], ...]] = DEFAULT_HOURS,
    closures: Iterable[date] = (),
    open_days: Iterable[date] = (),
    subdiv: str | None = None,
) -> DeskCalendar:
    """Return the desk calendar: Italian public holidays (``subdiv`` adds a patron saint),
    plus ``closures``, minus ``open_days``."""
    public = holidays.country_holidays("IT", subdiv=subdiv)  # expands years on demand
    extra, opened = frozenset(closures), frozenset(open_days)

    def closed(day: date) -> bool:
        return day not in opened and (day in extra or day in public)

    return DeskCalendar(ZoneInfo(tz), dict(hours), closed)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the SLA maths: use an aware datetime")
    return at.astimezone(UTC)


def is_open(cal: DeskCalendar, at: datetime) -> bool:
    """Tell whether the desk is open at ``at``."""
    at = _utc(at)
    return any(a <= at < b for a, b in cal.spans(cal.local_day(at)))


def next_opening(cal: DeskCalendar, at: datetime) -> datetime:
    """Return ``at`` if the desk is open then, else when it next opens."""
    at = _utc(at)
    day = cal.local_day(at)
    for _ in range(_MAX_DAYS):
        for a, b in cal.spans(day):
            if at < b:
                return max(a, at)
        day += timedelta(days=1)
    raise ValueError("the desk never opens: check the desk hours and closures")


def desk_time(cal: DeskCalendar, start: datetime, end: datetime) -> timedelta:
    """Return the desk time between two instants (zero if ``end`` is not after ``start``)."""
    start, end = _utc(start), _utc(end)
    total = timedelta()
    if end <= start:
        return total
    day, last = cal.local_day(start), cal.local_day(end)
    while day <= last:
        for a, b in cal.spans(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def add_desk_time(cal: DeskCalendar, start: datetime, amount: timedelta) -> datetime:
    """Return the instant at which ``amount`` of desk time has passed since ``start``."""
    cursor, left = _utc(start), amount
    if left <= timedelta():
        return cursor
    day = cal.local_day(cursor)
    for _ in range(_MAX_DAYS):
        for a, b in cal.spans(day):
            lo = max(a, cursor)
            if b <= lo:
                continue
            if b - lo >= left:
                return lo + left
            left -= b - lo
        day += timedelta(days=1)
    raise ValueError(f"{amount} of desk time does not fit in {_MAX_DAYS} days")


def paused_spans(history: Sequence[tuple[datetime, str]], until: datetime) -> list[Span]:
    """Return the spans during which the status was one of `PAUSED`, up to ``until``."""
    spans: list[Span] = []
    since: datetime | None = None
    for at, status in history:
        if status in PAUSED and since is None:
            since = at
        elif status not in PAUSED and since is not None:
            spans.append((since, at))
            since = None
    if since is not None and until > since:
        spans.append((since, until))
    return spans


class ClockState(enum.StrEnum):
    """Where one SLA target stands."""

    MET = "met"
    RUNNING = "running"
    WARNING = "warning"  # less than the warning margin left
    PAUSED = "paused"  # waiting for the customer
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class Targets:
    """One priority's targets, in desk time, and how early to warn."""

    first_response: timedelta
    resolution: timedelta
    warn_before: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Clock:
    """One target on one ticket: desk time used and left, and when it falls due if nothing
    changes (None when met or paused)."""

    state: ClockState
    elapsed: timedelta
    remaining: timedelta
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class Sla:
    """Both clocks of a ticket."""

    first_response: Clock
    resolution: Clock
    reopens: int = field(default=0)


def _clock(
    cal: DeskCalendar,
    target: timedelta,
    warn: timedelta,
    elapsed: timedelta,
    *,
    done: bool,
    paused: bool,
    now: datetime,
) -> Clock:
    remaining = target - elapsed
    if done:
        state = ClockState.MET if remaining >= timedelta() else ClockState.BREACHED
        return Clock(state, elapsed, remaining)
    if remaining <= timedelta():
        return Clock(ClockState.BREACHED, elapsed, remaining)
    if paused:
        return Clock(ClockState.PAUSED, elapsed, remaining)
    state = ClockState.WARNING if remaining <= warn else ClockState.RUNNING
    return Clock(state, elapsed, remaining, add_desk_time(cal, now, remaining))


def sla(
    cal: DeskCalendar,
    targets: Targets,
    *,
    created_at: datetime,
    history: Sequence[tuple[datetime, str]],
    first_response_at: datetime | None,
    now: datetime,
) -> Sla:
    """Compute both clocks of a ticket at ``now`` from its status history."""
    status = history[-1][1] if history else "new"
    fr_end = first_response_at or now
    first = _clock(
        cal,
        targets.first_response,
        targets.warn_before,
        desk_time(cal, created_at, fr_end),
        done=first_response_at is not None or status in DONE,
        paused=False,
        now=now,
    )
    pauses = paused_spans(history, now)
    used = desk_time(cal, created_at, now) - sum(
        (desk_time(cal, a, b) for a, b in pauses), timedelta()
    )
    resolution = _clock(
        cal,
        targets.resolution,
        targets.warn_before,
        used,
        done=status in DONE,
        paused=status in PAUSED,
        now=now,
    )
    reopens = sum(
        1
        for (_, prev), (_, cur) in itertools.pairwise(history)
        if prev in DONE and cur not in PAUSED
    )
    return Sla(first, resolution, reopens)
