"""FatturaPA XML bytes -> typed model, plus the schema findings the model cannot carry.

Accepts any prefix or a default namespace on the root (domain.md §1.1: only the root is
qualified), lots, UTF-8 with/without BOM and any declared encoding libxml2 knows (Latin-1,
Windows-1252); skips the XAdES ``ds:Signature``. Everything that is not FPA12/FPR12 is refused
with a typed error naming what it is (`sniff`), never mis-parsed.

The walk is generic over the model's `FieldSpec`s. It records, as 00200 findings, what an XSD
validator would refuse but a typed value cannot show: unknown/misplaced/duplicated elements,
text where none is allowed, and lexical forms (``1`` for a ``Quantita``, which must be ``1.00``).
Missing mandatory elements become ``None`` in the model and are reported by `structure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from handlers.formats import xmlsafe

from .errors import (
    BrokenNamespace,
    FatturaPAError,
    Finding,
    InvalidXml,
    NotAnInvoice,
    UnsupportedFormat,
)
from .fields import FieldSpec, specs
from .model import NAMESPACE, ROOT, FatturaElettronica
from .sniff import FormatInfo, FormatKind, sniff
from .xsdtypes import from_text

_QROOT = f"{{{NAMESPACE}}}{ROOT}"
_QUALIFIED = f"{{{NAMESPACE}}}"
_DSIG = "{http://www.w3.org/2000/09/xmldsig#}"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_Index = dict[str, tuple[int, FieldSpec]]
_INDEX: dict[type, _Index] = {}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The model, the schema-level findings of the reader, and what `sniff` saw."""

    invoice: FatturaElettronica
    findings: tuple[Finding, ...]
    info: FormatInfo


def _schema_finding(xpath: str, en: str, it: str | None = None) -> Finding:
    return Finding("00200", xpath, it or f"File non conforme al formato: {en}", en)


def _index(cls: type) -> _Index:
    got = _INDEX.get(cls)
    if got is None:
        got = _INDEX[cls] = {fs.xml: (i, fs) for i, fs in enumerate(specs(cls)) if not fs.attr}
    return got


def _leaf(el: Any, fs: FieldSpec, parent: str, n: int, out: list[Finding]) -> Any:
    stype = fs.stype
    assert stype is not None
    text = el.text
    if len(el):
        if any(isinstance(c.tag, str) for c in el):
            out.append(_schema_finding(_cpath(parent, fs.xml, fs, n),
                                       f"{fs.xml} must not contain elements"))
        text = "".join(el.itertext())
    if text is None:
        # kept as "" even where the XSD has a default (Nazione: empty means IT), so that
        # reading and writing stay inverse; `structure` accepts it like the XSD does
        text = ""
    if stype.kind == "str":  # fast path: strings are kept verbatim
        return text
    value, err = from_text(stype, text)
    if err:
        out.append(_schema_finding(_cpath(parent, fs.xml, fs, n), err))
    return value


def _read(el: Any, cls: type, path: str, out: list[Finding]) -> Any:
    # Hot loop (the benchmark's main cost): XPaths are only built for findings and for
    # complex children; leaves never format a path unless they report something.
    index = _index(cls)
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    pos = 0
    text = el.text
    if text is not None and not text.isspace():
        out.append(_schema_finding(path, "text not allowed here"))
    for child in el:
        tag = child.tag
        if tag.__class__ is not str:  # comment / processing instruction
            continue
        tail = child.tail
        if tail is not None and not tail.isspace():
            out.append(_schema_finding(path, "text not allowed here"))
        if tag[0] == "{":
            if tag.startswith(_QUALIFIED):  # children must be unqualified (default ns leak)
                tag = tag[len(_QUALIFIED):]
                out.append(_schema_finding(f"{path}/{tag}",
                                           f"{tag} must be unqualified (no namespace)"))
            elif cls is FatturaElettronica and tag == f"{_DSIG}Signature":
                continue  # XAdES enveloped signature: not part of the model
            else:
                out.append(_schema_finding(f"{path}/{tag}", f"unexpected element {tag}"))
                continue
        hit = index.get(tag)
        if hit is None:
            out.append(_schema_finding(f"{path}/{tag}", f"unexpected element {tag}"))
            continue
        idx, fs = hit
        name = fs.name
        n = counts.get(name, 0) + 1
        counts[name] = n
        if idx < pos:
            out.append(_schema_finding(_cpath(path, tag, fs, n), f"element {tag} out of order"))
        elif n > 1 and not fs.many:
            out.append(_schema_finding(_cpath(path, tag, fs, n), f"element {tag} repeated"))
        pos = idx
        if child.attrib:
            out.append(_schema_finding(_cpath(path, tag, fs, n),
                                       f"attributes not allowed on {tag}"))
        if fs.cls is not None:
            value = _read(child, fs.cls, _cpath(path, tag, fs, n), out)
        else:
            value = _leaf(child, fs, path, n, out)
        if fs.many:
            if n == 1:
                values[name] = [value]
            else:
                values[name].append(value)
        elif n == 1:
            values[name] = value
    kwargs = {}
    for fs in specs(cls):
        if not fs.attr:
            v = values.get(fs.name)
            kwargs[fs.name] = (tuple(v) if v else ()) if fs.many else v
    if cls is FatturaElettronica:
        kwargs.update(_root_attributes(el, path, out))
    return cls(**kwargs)


def _cpath(path: str, tag: str, fs: FieldSpec, n: int) -> str:
    return f"{path}/{tag}[{n}]" if fs.many else f"{path}/{tag}"


def _root_attributes(el: Any, path: str, out: list[Finding]) -> dict[str, Any]:
    for name in el.attrib:
        if name not in ("versione", "SistemaEmittente") and not name.startswith(_XSI):
            out.append(_schema_finding(f"{path}/@{name}", f"attribute {name} not allowed"))
    return {"versione": el.get("versione"), "sistema_emittente": el.get("SistemaEmittente")}


def _refuse(info: FormatInfo, exc: Exception | None = None) -> FatturaPAError:
    kind = info.kind
    if kind in (FormatKind.FSM10, FormatKind.LEGACY_1_1, FormatKind.CMS):
        return UnsupportedFormat(kind.value, f"unsupported invoice format {kind.value}: "
                                             f"{info.detail}")
    if kind is FormatKind.BROKEN_NAMESPACE:
        return BrokenNamespace(f"FatturaElettronica with a broken namespace: {info.detail}")
    if exc is not None:
        return InvalidXml(str(exc))
    return NotAnInvoice(info.detail or "not a FatturaPA invoice")



def parse_report(data: bytes) -> ParseResult:
    """Parse ``data`` into the model and the reader's schema findings.

    Raises `UnsupportedFormat` (legacy 1.1, FSM10, p7m), `BrokenNamespace`, `NotAnInvoice`
    or `InvalidXml` — each names what the bytes are.
    """
    info = sniff(data)
    if info.kind not in (FormatKind.FPA12, FormatKind.FPR12, FormatKind.BAD_VERSIONE):
        try:
            xmlsafe.parse(data)
        except (xmlsafe.MalformedXml, xmlsafe.UnsafeXml) as exc:
            raise _refuse(info, exc) from exc
        raise _refuse(info)
    try:
        root = xmlsafe.parse(data)
    except (xmlsafe.MalformedXml, xmlsafe.UnsafeXml) as exc:
        raise InvalidXml(str(exc)) from exc
    if root.tag != _QROOT:  # the sniffer was fooled (e.g. a comment-like trick)
        raise NotAnInvoice(f"root element is {etree.QName(root).localname!r}")
    findings: list[Finding] = []
    invoice = _read(root, FatturaElettronica, f"/{ROOT}", findings)
    return ParseResult(invoice, tuple(findings), info)


def parse(data: bytes) -> FatturaElettronica:
    """Parse FatturaPA 1.2 bytes (FPA12/FPR12) into the model; see `parse_report`."""
    return parse_report(data).invoice
