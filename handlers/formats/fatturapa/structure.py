"""Structural (XSD-equivalent) validation of a model instance, with an XPath per finding.

Element order cannot be wrong in a model (the writer emits the XSD sequence), so what remains
is: mandatory elements present, cardinalities, the leaf facets of `xsdtypes` (patterns, lengths,
code lists, digits, ranges) and the two XSD choices (Denominazione XOR Nome+Cognome). The
verdict must agree with the official 1.2.3 XSD on whatever the writer produces; the tests
check that on real files and on generated, mutated invoices. Findings carry code 00200, the
SdI code for "file not conformant to the format".
"""

from __future__ import annotations

from typing import Any

from .errors import Finding
from .fields import specs
from .model import ROOT, FatturaElettronica
from .model_header import Anagrafica, RappresentanteFiscaleCessionario
from .xsdtypes import check

_CHOICE = (Anagrafica, RappresentanteFiscaleCessionario)


def _f(xpath: str, en: str, it: str) -> Finding:
    return Finding("00200", xpath, f"File non conforme al formato: {it}", en)


def _choice(obj: Any, path: str, out: list[Finding]) -> None:
    den, nome, cognome = obj.denominazione, obj.nome, obj.cognome
    if den is not None and (nome is not None or cognome is not None):
        out.append(_f(path, "Denominazione and Nome/Cognome are mutually exclusive",
                      "Denominazione e Nome/Cognome sono alternativi"))
    elif den is None and (nome is None or cognome is None):
        out.append(_f(path, "either Denominazione or both Nome and Cognome are required",
                      "indicare Denominazione oppure Nome e Cognome"))


_Plan = tuple[tuple[str, str, Any, Any, bool, int, "int | None", bool, Any], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    got = _PLANS.get(cls)
    if got is None:
        got = _PLANS[cls] = tuple((fs.name, fs.xml, fs.stype, fs.cls, fs.many, fs.min, fs.max,
                                   fs.attr, fs.default) for fs in specs(cls))
    return got


def _one(xml: str, stype: Any, cls: Any, value: Any, path: str, out: list[Finding]) -> None:
    if cls is not None:
        if value.__class__ is cls:
            _walk(value, path, out)
        else:
            out.append(_f(path, f"expected {cls.__name__}, got {type(value).__name__}",
                          f"tipo non valido per {xml}"))
        return
    reason = check(stype, value)
    if reason is not None:
        out.append(_f(path, f"{xml}: {reason}", f"valore non valido per {xml} ({reason})"))


def _walk(obj: Any, path: str, out: list[Finding]) -> None:
    # Hot path: paths are formatted only when recursing or reporting.
    for name, xml, stype, cls, many, lo, hi, attr, default in _plan(type(obj)):
        value = getattr(obj, name)
        if many:
            here = f"{path}/{xml}"
            if value.__class__ is not tuple and not isinstance(value, list):
                out.append(_f(here, f"{xml} must be a tuple", f"{xml} non valido"))
                continue
            if len(value) < lo:
                out.append(_f(here, f"mandatory element {xml} missing",
                              f"elemento obbligatorio {xml} mancante"))
            if hi is not None and len(value) > hi:
                out.append(_f(here, f"{xml} repeated more than {hi} times",
                              f"{xml} ripetuto piu' di {hi} volte"))
            for i, item in enumerate(value, 1):
                _one(xml, stype, cls, item, f"{here}[{i}]", out)
        elif value is None:
            if lo:
                out.append(_f(f"{path}/@{xml}" if attr else f"{path}/{xml}",
                              f"mandatory element {xml} missing",
                              f"elemento obbligatorio {xml} mancante"))
        elif cls is not None:
            _one(xml, stype, cls, value, f"{path}/{xml}", out)
        elif value == "" and default is not None:
            continue  # empty element with an XSD default (Nazione): valid, means the default
        else:
            reason = check(stype, value)
            if reason is not None:
                out.append(_f(f"{path}/@{xml}" if attr else f"{path}/{xml}", f"{xml}: {reason}",
                              f"valore non valido per {xml} ({reason})"))
    if isinstance(obj, _CHOICE):
        _choice(obj, path, out)


def check_structure(invoice: FatturaElettronica) -> list[Finding]:
    """XSD-level findings for ``invoice`` (empty list = the written XML is schema-valid)."""
    out: list[Finding] = []
    if not isinstance(invoice, FatturaElettronica):
        return [_f(f"/{ROOT}", "not a FatturaElettronica", "documento non valido")]
    _walk(invoice, f"/{ROOT}", out)
    return out
