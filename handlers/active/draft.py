"""Read an invoice description (TOML, JSON, or a CSV of lines) into a checked `Draft`.

The description names the customer (and optionally the seller profile) by their address-book
key: party data is never retyped (issue 5). Amounts are read as text into ``Decimal`` (never
floats, domain.md §1.4). A draft is also what the store keeps to rebuild the file on resend,
so `to_json`/`from_json` round-trip it exactly.

TOML example::

    customer = "comune-x"        # address-book key
    tipo = "TD01"                 # TD04 = credit note, with corrects = "<numero>"
    date = "2025-03-01"           # default: today
    causale = ["Servizi di marzo"]
    cig = "1234567890"            # PA: DatiOrdineAcquisto with CIG/CUP, id = order_id
    [[lines]]
    description = "Consulenza"
    quantity = "10"
    unit_price = "80.00"
    vat = "22"
    [payment]
    method = "MP05"
    iban = "IT60X0542811101000000123456"
    due = "2025-04-01"
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

TIPI = ("TD01", "TD02", "TD04", "TD05", "TD06", "TD24", "TD25")


class BadDraft(ValueError):
    """The description cannot be turned into an invoice; the message says why."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line as described (amounts as exact text)."""

    description: str
    unit_price: str
    quantity: str | None = None
    unit: str | None = None
    vat: str = "22"
    nature: str | None = None
    discount_percent: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """DatiPagamento: method (MP05 bank transfer), IBAN, due date, terms (TP02 full)."""

    method: str = "MP05"
    terms: str = "TP02"
    iban: str | None = None
    due: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """An invoice before it has a number."""

    customer: str
    lines: tuple[Line, ...]
    seller: str | None = None
    tipo: str = "TD01"
    date: str | None = None  # ISO date; None: the day it is created
    register: str | None = None
    causale: tuple[str, ...] = ()
    corrects: str | None = None  # Numero of the invoice a TD04 corrects
    corrects_year: int | None = None
    order_id: str | None = None
    cig: str | None = None
    cup: str | None = None
    esigibilita: str | None = None  # I, D, S (split payment, PA)
    riferimento_normativo: dict[str, str] = field(default_factory=dict)
    payment: Payment | None = None
    auto_send: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-able mapping (stored with the invoice)."""
        return asdict(self)


def _dec(value: Any, where: str, *, positive: bool = False) -> str:
    if isinstance(value, float):
        raise BadDraft(f"{where}: write amounts as strings (\"12.50\"), not floats")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise BadDraft(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or (positive and number <= 0):
        raise BadDraft(f"{where}: {value!r} must be a positive number")
    return str(number)


def _line(data: dict[str, Any], n: int) -> Line:
    where = f"line {n}"
    unknown = set(data) - set(Line.__dataclass_fields__)
    if unknown:
        raise BadDraft(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if not str(data.get("description") or "").strip():
        raise BadDraft(f"{where}: description is required")
    if "unit_price" not in data:
        raise BadDraft(f"{where}: unit_price is required")
    vat = _dec(data.get("vat", "22"), f"{where} vat")
    nature = data.get("nature") or None
    if Decimal(vat) == 0 and not nature:
        raise BadDraft(f"{where}: VAT 0 needs a nature (N1..N7, SdI 00400)")
    if Decimal(vat) != 0 and nature:
        raise BadDraft(f"{where}: a nature goes with VAT 0 only (SdI 00401)")
    return Line(
        description=str(data["description"]).strip(),
        unit_price=_dec(data["unit_price"], f"{where} unit_price"),
        quantity=_dec(data["quantity"], f"{where} quantity", positive=True)
        if data.get("quantity") not in (None, "")
        else None,
        unit=data.get("unit") or None,
        vat=vat,
        nature=nature,
        discount_percent=_dec(data["discount_percent"], f"{where} discount_percent")
        if data.get("discount_percent") not in (None, "")
        else None,
    )


def from_mapping(data: dict[str, Any], *, extra_lines: tuple[Line, ...] = ()) -> Draft:
    """Check a decoded description (TOML/JSON) and return the draft."""
    data = dict(data)
    unknown = set(data) - set(Draft.__dataclass_fields__)
    if unknown:
        raise BadDraft(f"unknown keys: {', '.join(sorted(unknown))}")
    if not data.get("customer"):
        raise BadDraft("customer (an address-book key) is required")
    lines = tuple(_line(dict(x), i) for i, x in enumerate(data.pop("lines", []) or [], 1))
    lines += extra_lines
    if not lines:
        raise BadDraft("an invoice needs at least one line")
    tipo = data.get("tipo", "TD01")
    if tipo not in TIPI:
        raise BadDraft(f"tipo must be one of {', '.join(TIPI)}")
    if tipo == "TD04" and not data.get("corrects"):
        raise BadDraft("a credit note (TD04) must say which invoice it corrects: corrects")
    when = data.get("date")
    if isinstance(when, date):
        data["date"] = when.isoformat()
    elif when is not None:
        try:
            date.fromisoformat(str(when))
        except ValueError:
            raise BadDraft(f"date: {when!r} is not an ISO date") from None
    payment = data.pop("payment", None)
    if payment is not None:
        payment = dict(payment)
        if isinstance(payment.get("due"), date):
            payment["due"] = payment["due"].isoformat()
        try:
            payment = Payment(**payment)
        except TypeError as exc:
            raise BadDraft(f"payment: {exc}") from None
    data.pop("lines", None)
    try:
        return Draft(
            **{**data, "lines": lines, "causale": tuple(data.get("causale", ())),
               "payment": payment}
        )
    except TypeError as exc:  # pragma: no cover - unknown keys were refused above
        raise BadDraft(str(exc)) from None


def from_json(data: dict[str, Any]) -> Draft:
    """Inverse of `Draft.to_json`."""
    return from_mapping({**data, "lines": [dict(x) for x in data["lines"]]})


def parse_csv_lines(text: str) -> tuple[Line, ...]:
    """Lines from a CSV with a header (description, quantity, unit_price, vat, nature, unit,
    discount_percent); ``;`` or ``,`` separated, as spreadsheets export them."""
    dialect = "excel-semicolon" if text.splitlines()[0].count(";") else "excel"
    if dialect == "excel-semicolon":
        reader = csv.DictReader(io.StringIO(text), delimiter=";")
    else:
        reader = csv.DictReader(io.StringIO(text))
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    return tuple(_line({k: v for k, v in r.items() if v != ""}, i) for i, r in enumerate(rows, 1))


def parse(content: bytes, name: str, **overrides: Any) -> Draft:
    """A draft from a file's ``content``: ``.toml``, ``.json`` or ``.csv`` (lines only; the
    rest, e.g. ``customer``, comes from ``overrides``)."""
    text = content.decode("utf-8-sig")
    lower = name.lower()
    if lower.endswith(".csv"):
        return from_mapping({k: v for k, v in overrides.items() if v is not None},
                            extra_lines=parse_csv_lines(text))
    try:
        data = json.loads(text) if lower.endswith(".json") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadDraft(f"{name}: {exc}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_mapping(data)
