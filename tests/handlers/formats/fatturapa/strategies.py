"""Hypothesis strategies for the FatturaPA model, derived from the model's own field specs.

`valid_value(st)` draws schema-valid leaf values for a `SimpleType`; `wild_value(st)` draws
anything plausible (too long, wrong characters, too many decimals, out of range…), used to
check that the structural validator and the official XSD agree.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import strategies as st

from handlers.formats.fatturapa import xsdtypes as t
from handlers.formats.fatturapa.fields import FieldSpec, specs
from handlers.formats.fatturapa.model import (
    Anagrafica,
    FatturaElettronica,
    RappresentanteFiscaleCessionario,
)

BASIC = "".join(chr(c) for c in range(0x20, 0x7F))
LATIN = BASIC + "".join(chr(c) for c in range(0xA0, 0x100))
ALNUM = string.ascii_uppercase + string.digits
_REGEX = {
    t.CODICE_DESTINATARIO: r"[A-Z0-9]{6,7}",
    t.CODICE_FISCALE: r"[A-Z0-9]{11,16}",
    t.CODICE_FISCALE_PF: r"[A-Z0-9]{16}",
    t.NAZIONE: r"[A-Z]{2}",
    t.PROVINCIA: r"[A-Z]{2}",
    t.DIVISA: r"[A-Z]{3}",
    t.TIPO_RESA: r"[A-Z]{3}",
    t.CAP: r"[0-9]{5}",
    t.ABI: r"[0-9]{5}",
    t.CAB: r"[0-9]{5}",
    t.IBAN: r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}",
    t.BIC: r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?",
    t.EMAIL: r"[a-z0-9_]{1,8}(\.[a-z0-9]{1,4})?@[a-z0-9]{1,12}\.[a-z]{2,4}",
    t.EMAIL_CONTATTI: r"[a-z0-9]{3,12}@[a-z0-9]{1,12}\.[a-z]{2,4}",
    t.TITOLO: r"[A-Za-z.]{2,10}",
    t.TELFAX: r"[0-9+ ]{5,12}",
}
_TEXT = {
    t.CODICE: (ALNUM, 1, 28),
    t.COD_EORI: (ALNUM, 13, 17),
    t.STRING35_LATIN_EXT: (LATIN + "€ĀŁ", 1, 35),
}


def _length(st_: t.SimpleType) -> int:
    assert st_.pattern is not None
    return int(st_.pattern.pattern.rsplit(",", 1)[1].rstrip("}"))


def _decimal(lo: int, hi: int, dec: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda n: Decimal(n).scaleb(-dec))


def valid_value(s: t.SimpleType) -> st.SearchStrategy[Any]:
    """Values `check` accepts and the XSD accepts once written."""
    if s.kind == "str":
        if s.enum is not None:
            return st.sampled_from(sorted(s.enum))
        if s in _REGEX:
            return st.from_regex(_REGEX[s], fullmatch=True)
        if s in _TEXT:
            alphabet, lo, hi = _TEXT[s]
            return st.text(alphabet, min_size=lo, max_size=hi)
        latin = "IsLatin" in s.name or "Latin" in s.name
        return st.text(LATIN if latin else BASIC, min_size=1, max_size=min(_length(s), 40))
    if s.kind == "dec":
        top = 10 ** min(s.int_digits, 6)
        if s is t.RATE:
            return _decimal(0, 10000, 2)
        return st.integers(s.min_dec, s.max_dec).flatmap(
            lambda d: _decimal(-top * 10**d + 1 if s.signed else 0, top * 10**d - 1, d)
        )
    if s.kind == "int":
        assert s.min_int is not None and s.max_int is not None
        return st.integers(s.min_int, s.max_int)
    if s.kind == "date":
        return st.dates(s.min_date or date(1900, 1, 1), date(2199, 12, 31))
    if s.kind == "datetime":
        zones = st.sampled_from([None, UTC, timezone(timedelta(hours=2))])
        return st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1), timezones=zones)
    return st.binary(max_size=48)


def wild_value(s: t.SimpleType) -> st.SearchStrategy[Any]:
    """Anything of the right Python type, valid or not."""
    if s.kind == "str":
        odd = st.text(LATIN + "\t€😀Ā" + "\u2019", max_size=(s.max_len or 60) + 3)
        return st.one_of(valid_value(s), odd, st.text(ALNUM + " ", max_size=40))
    if s.kind == "dec":
        return st.one_of(
            valid_value(s),
            st.integers(-(10**14), 10**14).flatmap(
                lambda n: st.integers(0, 10).map(lambda d: Decimal(n).scaleb(-d))
            ),
        )
    if s.kind == "int":
        return st.integers(-3, 12000)
    if s.kind == "date":
        return st.dates(date(1960, 1, 1), date(2100, 1, 1))
    return valid_value(s)


def _field(fs: FieldSpec) -> st.SearchStrategy[Any]:
    one = model(fs.cls) if fs.cls is not None else valid_value(fs.stype)  # type: ignore[arg-type]
    if fs.many:
        return st.lists(one, min_size=fs.min, max_size=max(fs.min, 2)).map(tuple)
    return one if fs.min else st.none() | one


def _party(cls: type) -> st.SearchStrategy[Any]:
    base = {
        fs.name: _field(fs)
        for fs in specs(cls)
        if fs.name not in ("denominazione", "nome", "cognome")
    }
    name = st.one_of(
        st.fixed_dictionaries({"denominazione": valid_value(t.LATIN80)}),
        st.fixed_dictionaries({"nome": valid_value(t.LATIN60), "cognome": valid_value(t.LATIN60)}),
    )
    return st.tuples(st.fixed_dictionaries(base), name).map(lambda pair: cls(**pair[0], **pair[1]))


@cache
def model(cls: type) -> st.SearchStrategy[Any]:
    """Schema-valid instances of a model class."""
    if cls in (Anagrafica, RappresentanteFiscaleCessionario):
        return _party(cls)
    return st.builds(cls, **{fs.name: _field(fs) for fs in specs(cls)})


invoices = model(FatturaElettronica)


def leaf_paths(obj: Any, prefix: str = "") -> list[tuple[str, FieldSpec]]:
    """Dotted paths (``a.b[0].c``) of every single-valued leaf field of ``obj``."""
    out: list[tuple[str, FieldSpec]] = []
    for fs in specs(type(obj)):
        value = getattr(obj, fs.name)
        here = f"{prefix}{fs.name}"
        if fs.cls is not None:
            items = value if fs.many else (() if value is None else (value,))
            for i, item in enumerate(items):
                sub = f"{here}[{i}]." if fs.many else f"{here}."
                out += leaf_paths(item, sub)
        elif not fs.many:
            out.append((here, fs))
    return out
