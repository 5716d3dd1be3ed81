"""Italian number/date formatting, including the values a hostile invoice can carry."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from handlers.formats.render import fmt, labels


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1234.56"), "1.234,56"), (D("0.5"), "0,50"), (D("-5.00"), "-5,00"),
        (D("1234567.1"), "1.234.567,10"), (D("1.23450000"), "1,2345"), (D("100"), "100,00"),
        (D("0.00"), "0,00"), (D("-0.01"), "-0,01"), (D("999.99"), "999,99"), (7, "7,00"),
        (D("NaN"), "NaN"), (D("Infinity"), "Infinity"), (D("1E+999999"), "1E+999999"),
        (None, fmt.EMPTY),
    ],
)
def test_number(value: D | int | None, expected: str) -> None:
    assert fmt.number(value) == expected


def test_money_rate_day() -> None:
    assert fmt.money(D("1234.56")) == "1.234,56 €"
    assert fmt.money(D("542.00"), "GBP") == "542,00 GBP"
    assert fmt.rate(D("22.00")) == "22,00%"
    assert fmt.day(date(2026, 11, 28)) == "28/11/2026"
    assert fmt.day(datetime(2026, 11, 28, 9, 5)) == "28/11/2026 09:05"
    assert fmt.size(5000) == "4,9 kB" and fmt.size(10) == "10 B"


def test_labels_describe_known_and_unknown_codes() -> None:
    assert labels.describe(labels.TIPO_DOCUMENTO, "TD04") == "TD04 - Nota di credito"
    assert labels.describe(labels.TIPO_DOCUMENTO, "TD99") == "TD99"
    assert labels.describe(labels.MODALITA_PAGAMENTO, None) == ""
    assert set(labels.TIPO_DOCUMENTO) >= {"TD01", "TD17", "TD28", "TD29"}
