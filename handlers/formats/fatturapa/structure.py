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
from .fields import FieldSpec, specs
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


def _one(fs: FieldSpec, value: Any, path: str, out: list[Finding]) -> None:
    if fs.cls is not None:
        if isinstance(value, fs.cls):
            _walk(value, path, out)
        else:
            out.append(_f(path, f"expected {fs.cls.__name__}, got {type(value).__name__}",
                          f"tipo non valido per {fs.xml}"))
        return
    assert fs.stype is not None
    reason = check(fs.stype, value)
    if reason is not None:
        out.append(_f(path, f"{fs.xml}: {reason}", f"valore non valido per {fs.xml} ({reason})"))


def _walk(obj: Any, path: str, out: list[Finding]) -> None:
    for fs in specs(type(obj)):
        value = getattr(obj, fs.name)
        here = f"{path}/@{fs.xml}" if fs.attr else f"{path}/{fs.xml}"
        if fs.many:
            if not isinstance(value, tuple | list):
                out.append(_f(here, f"{fs.xml} must be a tuple", f"{fs.xml} non valido"))
                continue
            if len(value) < fs.min:
                out.append(_f(here, f"mandatory element {fs.xml} missing",
                              f"elemento obbligatorio {fs.xml} mancante"))
            if fs.max is not None and len(value) > fs.max:
                out.append(_f(here, f"{fs.xml} repeated more than {fs.max} times",
                              f"{fs.xml} ripetuto piu' di {fs.max} volte"))
            for i, item in enumerate(value, 1):
                _one(fs, item, f"{here}[{i}]", out)
        elif value is None:
            if fs.min:
                out.append(_f(here, f"mandatory element {fs.xml} missing",
                              f"elemento obbligatorio {fs.xml} mancante"))
        else:
            _one(fs, value, here, out)
    if isinstance(obj, _CHOICE):
        _choice(obj, path, out)


def check_structure(invoice: FatturaElettronica) -> list[Finding]:
    """XSD-level findings for ``invoice`` (empty list = the written XML is schema-valid)."""
    out: list[Finding] = []
    if not isinstance(invoice, FatturaElettronica):
        return [_f(f"/{ROOT}", "not a FatturaElettronica", "documento non valido")]
    _walk(invoice, f"/{ROOT}", out)
    return out
