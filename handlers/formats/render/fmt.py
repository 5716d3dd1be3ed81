"""Italian presentation of invoice values: ``1.234,56 €``, ``28/11/2026``, ``22,00%``.

Shared by the HTML and PDF renderers so both show the same strings. Every function accepts
``None`` (the reader leaves a missing mandatory element as ``None``) and hostile values: a
``Decimal`` read from an invoice can be ``NaN``, ``Infinity`` or ``1E+999999``, which must be
shown as written rather than expanded into a megabyte of digits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

#: Beyond this many digits a number is not an amount anybody wrote on purpose: show it raw.
_MAX_DIGITS = 40
EMPTY = "—"


def number(value: Decimal | int | None, decimals: int = 2) -> str:
    """``1234.5`` → ``1.234,50``: at least ``decimals`` decimals, more only if significant."""
    if value is None:
        return EMPTY
    if isinstance(value, int):
        value = Decimal(value)
    if not value.is_finite() or abs(value.adjusted()) > _MAX_DIGITS:
        return str(value)
    text = format(abs(value), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(decimals, "0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    sign = "-" if value < 0 else ""
    return sign + ".".join(groups) + ("," + frac if frac else "")


def money(value: Decimal | None, divisa: str | None = "EUR") -> str:
    """``1.234,56 €`` for euro, ``1.234,56 GBP`` for any other ISO 4217 code."""
    if value is None:
        return EMPTY
    symbol = "€" if divisa in (None, "EUR") else divisa
    return f"{number(value)} {symbol}"


def rate(value: Decimal | None) -> str:
    """An XSD percentage (``22.00``) as ``22,00%``."""
    return EMPTY if value is None else f"{number(value)}%"


def quantity(value: Decimal | None) -> str:
    """``Quantita`` (2–8 decimals in the XSD): trailing zeros after the second dropped."""
    return EMPTY if value is None else number(value)


def day(value: date | datetime | None) -> str:
    """``28/11/2026`` (dd/mm/yyyy); a datetime also gets ``HH:MM``."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def text(value: object) -> str:
    """Any optional scalar as display text (``None`` → dash)."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, date):
        return day(value)
    return str(value)


def size(n: int) -> str:
    """A byte count for people: ``12,3 kB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{_one(n / 1024)} kB"
    return f"{_one(n / 1024 / 1024)} MB"


def _one(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")
