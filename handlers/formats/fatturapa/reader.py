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


def _leaf(el: Any, fs: FieldSpec, path: str, out: list[Finding]) -> Any:
    assert fs.stype is not None
    text = el.text
    if len(el):
        if any(isinstance(c.tag, str) for c in el):
            out.append(_schema_finding(path, f"{fs.xml} must not contain elements"))
        text = "".join(el.itertext())
    if text is None:
        text = ""
        if fs.default is not None:  # XSD element default applies to an empty element
            return fs.default
    value, err = from_text(fs.stype, text)
    if err:
        out.append(_schema_finding(path, err))
    return value


def _read(el: Any, cls: type, path: str, out: list[Finding]) -> Any:
    index = _index(cls)
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    pos = 0
    if el.text is not None and el.text.strip():
        out.append(_schema_finding(path, "text not allowed here"))
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):  # comment / processing instruction
            continue
        if child.tail is not None and child.tail.strip():
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
        n = counts.get(fs.name, 0) + 1
        counts[fs.name] = n
        cpath = f"{path}/{tag}[{n}]" if fs.many else f"{path}/{tag}"
        if idx < pos:
            out.append(_schema_finding(cpath, f"element {tag} out of order"))
        elif n > 1 and not fs.many:
            out.append(_schema_finding(cpath, f"element {tag} repeated"))
        pos = idx
        if child.attrib:
            out.append(_schema_finding(cpath, f"attributes not allowed on {tag}"))
        value = _read(child, fs.cls, cpath, out) if fs.cls is not None else _leaf(
            child, fs, cpath, out)
        if fs.many:
            values.setdefault(fs.name, []).append(value)
        elif n == 1:
            values[fs.name] = value
    kwargs = {
        fs.name: tuple(values.get(fs.name, ())) if fs.many else values.get(fs.name)
        for fs in specs(cls) if not fs.attr
    }
    if cls is FatturaElettronica:
        kwargs.update(_root_attributes(el, path, out))
    return cls(**kwargs)


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
