"""Retention arithmetic: how long a document class is kept, and the conservation deadline.

Art. 2220 codice civile keeps accounting documents 10 years (domain.md §6.1), counted here from
the end of the document's fiscal year, so every document of a year expires together and never
before ten full years. DM MEF 17/6/2014 requires invoices to be in conservation within three
months of the income-tax return deadline of their year (30 November of the next year), i.e. by
the end of February two years on.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping

#: Years of retention per document class; anything unknown gets the default.
DEFAULT_RETENTION_YEARS = 10
DEFAULT_CLASSES: Mapping[str, int] = {"fiscal": 10, "evidence": 10}


def retention_years(retention_class: str, classes: Mapping[str, int] | None = None) -> int:
    """Return the years a class is kept (``classes`` overrides the defaults)."""
    table = {**DEFAULT_CLASSES, **(classes or {})}
    years = table.get(retention_class, DEFAULT_RETENTION_YEARS)
    if years < 1:
        raise ValueError(f"retention class {retention_class!r}: years must be >= 1")
    return years


def retain_until(document_date: dt.date, years: int) -> dt.datetime:
    """Return the instant (UTC) until which a document dated ``document_date`` is locked.

    The lock runs to the first instant of the year after the ``years``-th anniversary of the
    fiscal year end: a 2024 invoice kept 10 years is locked until 2035-01-01T00:00Z.
    """
    return dt.datetime(document_date.year + years + 1, 1, 1, tzinfo=dt.UTC)


def conservation_deadline(document_date: dt.date) -> dt.date:
    """Last day to put a document of ``document_date``'s year into conservation (DM 17/6/2014)."""
    year = document_date.year + 2
    return dt.date(year, 2, calendar.monthrange(year, 2)[1])


def under_retention(until: dt.datetime | None, now: dt.datetime) -> bool:
    """Tell whether something retained ``until`` may not be deleted or overwritten at ``now``."""
    return until is not None and now < until
