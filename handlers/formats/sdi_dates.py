"""Read SdI ``xsd:dateTime``/``xsd:date`` values into aware datetimes / dates.

SdI writes timestamps in several shapes (domain.md §3.2): with a numeric offset and
milliseconds (real messages), with ``Z``, or with no zone at all (official examples). Keep the
offset when there is one; read zone-less values as Italian local time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

__all__ = ["ITALY", "parse_sdi_date", "parse_sdi_datetime"]


_DATETIME = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d{2}:\d{2})?"
)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")


def _last_sunday(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last.day - (last.weekday() + 1) % 7


class _ItalianTime(tzinfo):
    """Europe/Rome (CET/CEST, EU rules in force since 1996), without needing tzdata installed.

    Used only for zone-less ``xsd:dateTime`` values, which SdI writes in Italian local time
    (the official examples, domain.md §3.2).
    """

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1) + self.dst(dt)

    def dst(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(0)
        # Summer time runs from 02:00 local (01:00 UTC) on the last Sunday of March to 03:00
        # local (01:00 UTC) on the last Sunday of October; compare in local wall time. In the
        # skipped hour (02:00-03:00 in March) and the repeated one (October), PEP 495 says
        # fold=0 takes the offset in force before the transition and fold=1 the one after.
        start = datetime(dt.year, 3, _last_sunday(dt.year, 3), 3 - dt.fold)
        end = datetime(dt.year, 10, _last_sunday(dt.year, 10), 3 - dt.fold)
        wall = dt.replace(tzinfo=None)
        return timedelta(hours=1) if start <= wall < end else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "CEST" if self.dst(dt) else "CET"

    def __repr__(self) -> str:
        return "ITALY"


#: Italian civil time (CET/CEST).
ITALY = _ItalianTime()


def parse_sdi_datetime(value: str) -> datetime:
    """Parse an ``xsd:dateTime`` as SdI writes it into an aware datetime, keeping its offset.

    Shapes seen: ``2018-11-13T16:47:26.000+01:00`` (real), ``...Z``, zone-less
    ``2014-04-01T12:00:00`` (examples; read as Italian local time). Raise `ValueError`.
    """
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an xsd:dateTime: {value!r}")
    # xsd allows any number of fractional digits; Python keeps microseconds (6).
    frac = (match["frac"] or "")[:7]
    parsed = datetime.fromisoformat(match["base"] + frac)
    tz = match["tz"]
    if tz is None:
        return parsed.replace(tzinfo=ITALY)
    if tz == "Z":
        return parsed.replace(tzinfo=UTC)
    sign = -1 if tz[0] == "-" else 1
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return parsed.replace(tzinfo=timezone(sign * offset))


def parse_sdi_date(value: str) -> date:
    """Parse an ``xsd:date`` (an optional zone suffix is ignored); raise `ValueError`."""
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an xsd:date: {value!r}")
    return date.fromisoformat(match[1])
