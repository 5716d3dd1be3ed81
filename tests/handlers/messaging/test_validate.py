"""Albo field validation: what is accepted, how it is normalised, why the rest is refused."""

from __future__ import annotations

import pytest

from handlers.messaging import validate
from handlers.messaging.validate import Invalid


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Mario.Rossi@Example.IT", "Mario.Rossi@example.it"),
        (" a+b@sub.dominio.it ", "a+b@sub.dominio.it"),
        ("x@città.it", "x@xn--citt-3na.it"),
    ],
)
def test_email_ok(raw: str, norm: str) -> None:
    assert validate.email(raw) == norm


@pytest.mark.parametrize(
    "raw", ["", "no-at", "a@@b.it", "a@b", ".a@b.it", "a..b@c.it", "a@-b.it", "a@b.123", "a b@c.it"]
)
def test_email_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        validate.email(raw)


def test_pec_lowercased() -> None:
    assert validate.pec("Studio.Rossi@PEC.Ordine.IT") == "studio.rossi@pec.ordine.it"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("+39 333 1234567", "+393331234567"),
        ("0039 347-123.4567", "+393471234567"),
        ("3201234567", "+393201234567"),
        ("333123456", "+39333123456"),
    ],
)
def test_mobile_ok(raw: str, norm: str) -> None:
    assert validate.mobile(raw) == norm


@pytest.mark.parametrize("raw", ["+41 79 123 45 67", "06 1234567", "33312", "3331234567890", "abc"])
def test_mobile_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        validate.mobile(raw)


def test_fax() -> None:
    assert validate.fax("06 1234567") == "+39061234567"
    assert validate.fax("+44 20 7946 0000") == "+442079460000"
    with pytest.raises(Invalid):
        validate.fax("333 1234567")  # a mobile is no fax line
    with pytest.raises(Invalid):
        validate.fax("+1 23")


def test_postal() -> None:
    addr = validate.postal("Mario Rossi", "Via Roma 1", "00100", "Roma", "rm")
    assert addr.lines() == ("Mario Rossi", "Via Roma 1", "00100 Roma (RM)")
    assert validate.postal("A", "Rue X 2", "F-75001", "Paris", country="fr").country == "FR"
    for bad in [
        ("", "Via Roma 1", "00100", "Roma", "RM"),
        ("A", "Via Roma", "00100", "Roma", "RM"),
        ("A", "Via Roma 1", "0010", "Roma", "RM"),
        ("A", "Via Roma 1", "00100", "Roma", "XX"),
        ("A", "Via Roma 1", "00100", "", "RM"),
    ]:
        with pytest.raises(Invalid):
            validate.postal(*bad)
