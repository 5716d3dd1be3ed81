"""Desk-hours SLA maths on fixed calendars: holidays, closures, clock changes, pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from handlers.desk.sla import (
    ClockState,
    Targets,
    add_desk_time,
    desk_time,
    is_open,
    italian_desk,
    next_opening,
    paused_spans,
    sla,
)

ROME = ZoneInfo("Europe/Rome")
CAL = italian_desk()
H = timedelta(hours=1)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


def test_the_holidays_package_knows_san_francesco_from_2026_only() -> None:
    italy = holidays.country_holidays("IT", years=[2025, 2026])
    assert date(2026, 10, 4) in italy
    assert date(2025, 10, 4) not in italy


def test_easter_monday_is_skipped() -> None:
    # Fri 3 Apr 2026 17:30 + 8 h: 30 min on Friday, Monday 6 (Pasquetta) closed, Tuesday 7.5 h.
    due = add_desk_time(CAL, rome(2026, 4, 3, 17, 30), 8 * H)
    assert due == rome(2026, 4, 7, 17, 30)
    assert desk_time(CAL, rome(2026, 4, 3, 17, 30), due) == 8 * H
    assert not is_open(CAL, rome(2026, 4, 6, 10))


def test_christmas_and_santo_stefano_are_skipped() -> None:
    # Thu 24 Dec 16:00 + 16 h: 2 h on the 24th, 25 and 26 closed, weekend, Mon 28 8 h, Tue 6 h.
    assert add_desk_time(CAL, rome(2026, 12, 24, 16), 16 * H) == rome(2026, 12, 29, 16)


def test_closures_and_open_days_are_configurable() -> None:
    cal = italian_desk(closures=[date(2026, 12, 24)], open_days=[date(2026, 12, 26)])
    assert not is_open(cal, rome(2026, 12, 24, 10))
    assert is_open(cal, rome(2026, 12, 26, 10)) is False  # a Saturday has no desk hours anyway
    assert add_desk_time(cal, rome(2026, 12, 23, 17), 2 * H) == rome(2026, 12, 28, 10)


def test_san_francesco_2026_is_a_holiday_but_falls_on_sunday() -> None:
    # 4 Oct 2026 is a Sunday; the point is that a weekday 4 October counts (2027: a Monday).
    assert add_desk_time(CAL, rome(2027, 10, 1, 17), 2 * H) == rome(2027, 10, 5, 10)
    assert add_desk_time(CAL, rome(2025, 10, 3, 17), 2 * H) == rome(2025, 10, 6, 10)


def test_march_clock_change() -> None:
    # DST starts Sun 29 Mar 2026 02:00 -> 03:00, outside desk hours: the offset moves, not time.
    due = add_desk_time(CAL, rome(2026, 3, 27, 17), 2 * H)
    assert due == rome(2026, 3, 30, 10)
    assert due.astimezone(ROME).utcoffset() == 2 * H  # CEST on Monday
    assert desk_time(CAL, rome(2026, 3, 27, 17), rome(2026, 3, 30, 10)) == 2 * H


def test_october_clock_change() -> None:
    # DST ends Sun 25 Oct 2026 03:00 -> 02:00: a 25-hour Sunday adds no desk time.
    start, end = rome(2026, 10, 23, 17), rome(2026, 10, 26, 10)
    assert end - start == timedelta(days=2, hours=17)  # same-zone subtraction: wall clock
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=66)  # real time
    assert desk_time(CAL, start, end) == 2 * H
    assert add_desk_time(CAL, start, 2 * H) == end
    assert end.astimezone(ROME).utcoffset() == H


def test_lunch_break_and_evening_are_not_desk_time() -> None:
    assert desk_time(CAL, rome(2026, 6, 3, 12), rome(2026, 6, 3, 15)) == 2 * H
    assert add_desk_time(CAL, rome(2026, 6, 3, 12, 30), H) == rome(2026, 6, 3, 14, 30)
    assert next_opening(CAL, rome(2026, 6, 3, 13, 10)) == rome(2026, 6, 3, 14)
    assert next_opening(CAL, rome(2026, 6, 5, 19)) == rome(2026, 6, 8, 9)


def test_paused_spans_from_history() -> None:
    t = [rome(2026, 6, 5, h) for h in (9, 10, 11)]
    history = [(t[0], "new"), (t[1], "waiting-customer"), (t[2], "open")]
    assert paused_spans(history, rome(2026, 6, 5, 12)) == [(t[1], t[2])]
    assert paused_spans(history[:2], t[2]) == [(t[1], t[2])]


def test_pause_across_a_weekend() -> None:
    targets = Targets(first_response=2 * H, resolution=8 * H, warn_before=H)
    created = rome(2026, 6, 5, 16)  # Friday
    history = [
        (created, "new"),
        (rome(2026, 6, 5, 17), "waiting-customer"),  # asked the customer Fri 17:00
        (rome(2026, 6, 8, 11), "open"),  # they answered Mon 11:00
    ]
    now = rome(2026, 6, 8, 12)
    got = sla(
        CAL,
        targets,
        created_at=created,
        history=history,
        first_response_at=rome(2026, 6, 5, 17),
        now=now,
    )
    assert got.first_response.state is ClockState.MET
    assert got.first_response.elapsed == H
    # Running: Fri 16-17 (1 h) + Mon 11-12 (1 h); the pause (Fri 17 .. Mon 11) counts nothing,
    # neither its desk hours (Fri 17-18, Mon 9-11) nor the weekend.
    assert got.resolution.elapsed == 2 * H
    assert got.resolution.state is ClockState.RUNNING
    assert got.resolution.due == rome(2026, 6, 9, 10)  # 6 h left: Mon 12-13, 14-18, Tue 9-10


def test_paused_clock_reports_no_due_date() -> None:
    targets = Targets(first_response=2 * H, resolution=8 * H)
    created = rome(2026, 6, 5, 9)
    history = [(created, "new"), (rome(2026, 6, 5, 10), "waiting-customer")]
    got = sla(
        CAL,
        targets,
        created_at=created,
        history=history,
        first_response_at=rome(2026, 6, 5, 10),
        now=rome(2026, 6, 10, 9),
    )
    assert got.resolution.state is ClockState.PAUSED
    assert got.resolution.elapsed == H and got.resolution.due is None


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (rome(2026, 6, 3, 9, 30), ClockState.RUNNING),
        (rome(2026, 6, 3, 10, 45), ClockState.WARNING),
        (rome(2026, 6, 3, 11, 5), ClockState.BREACHED),
    ],
)
def test_first_response_warning_then_breach(now: datetime, state: ClockState) -> None:
    targets = Targets(first_response=2 * H, resolution=16 * H, warn_before=timedelta(minutes=30))
    created = rome(2026, 6, 3, 9)
    got = sla(
        CAL,
        targets,
        created_at=created,
        history=[(created, "new")],
        first_response_at=None,
        now=now,
    )
    assert got.first_response.state is state


def test_resolved_then_reopened_does_not_count_the_resolved_time() -> None:
    targets = Targets(first_response=H, resolution=4 * H)
    created = rome(2026, 6, 3, 9)
    history = [
        (created, "new"),
        (rome(2026, 6, 3, 10), "resolved"),
        (rome(2026, 6, 4, 10), "open"),  # reopened a day later
    ]
    got = sla(
        CAL,
        targets,
        created_at=created,
        history=history,
        first_response_at=rome(2026, 6, 3, 10),
        now=rome(2026, 6, 4, 11),
    )
    assert got.resolution.elapsed == 2 * H
    assert got.reopens == 1


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        desk_time(CAL, datetime(2026, 1, 1), rome(2026, 1, 2))
