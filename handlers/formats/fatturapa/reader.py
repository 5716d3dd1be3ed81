"""FatturaPA XML bytes -> typed model, plus the schema findings the model cannot carry.

Accepts any prefix or a default namespace on the root (domain.md §1.1: only the root is
qualified), lots, UTF-8 with/without BOM and any declared encoding libxml2 knows (Latin-1,
Windows-1252); skips the XAdES ``ds:Signature``. Everything that is not FPA12/FPR12 is refused
with a typed error naming what it is (`sniff`), never mis-parsed.

The tree walk itself (and the schema findings it records: unknown/misplaced/duplicated
elements, text where none is allowed, lexical forms) is `walk`, driven by the per-class plans
of `plan`, which the model's `FieldSpec`s compile to.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from .fastread import read_fast
from .model import NAMESPACE, ROOT, FatturaElettronica
from .sniff import FormatInfo, FormatKind, sniff
from .walk import read_root

_QROOT = f"{{{NAMESPACE}}}{ROOT}"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The model, the schema-level findings of the reader, and what `sniff` saw."""

    invoice: FatturaElettronica
    findings: tuple[Finding, ...]
    info: FormatInfo


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



def _refused(data: bytes, exc: Exception | None, root: etree._Element | None) -> FatturaPAError:
    """Why bytes that are not a readable FatturaPA 1.2 tree were refused (`sniff` names them)."""
    info = sniff(data)
    if info.kind not in (FormatKind.FPA12, FormatKind.FPR12, FormatKind.BAD_VERSIONE):
        return _refuse(info, exc)
    if root is not None:  # the sniffer was fooled (e.g. a comment-like trick)
        return NotAnInvoice(f"root element is {etree.QName(root).localname!r}")
    return InvalidXml(str(exc))


def read_tree(data: bytes) -> tuple[FatturaElettronica, list[Finding], bool]:
    """(invoice, reader findings, sure): `read_checked` without the `FormatInfo`.

    The tree is parsed first and `sniff` runs only to name what is refused: for an invoice,
    libxml2 has the last word on the root element anyway. A plainly valid invoice is read by
    `fastread` from a tree without indentation text; anything else is parsed again, whole,
    for the generic `walk`, which explains what it finds.
    """
    try:
        root = xmlsafe.parse(data, drop_blank_text=True)
    except (xmlsafe.MalformedXml, xmlsafe.UnsafeXml) as exc:
        raise _refused(data, exc, None) from exc
    if root.tag != _QROOT:
        raise _refused(data, None, root)
    invoice = read_fast(root)
    if invoice is not None:
        return invoice, [], True
    # The generic walk explains what it finds on the tree as written, every text node kept
    # (libxml2's blank-text heuristics could hide whitespace beside a comment in a leaf).
    findings: list[Finding] = []
    invoice, sure = read_root(xmlsafe.parse(data), findings)
    return invoice, findings, sure


def read_checked(data: bytes) -> tuple[ParseResult, bool]:
    """`parse_report`, plus whether the reader can vouch that `check_structure` on the invoice
    finds nothing (False: it may or may not; run it)."""
    invoice, findings, sure = read_tree(data)
    return ParseResult(invoice, tuple(findings), sniff(data)), sure


def parse_report(data: bytes) -> ParseResult:
    """Parse ``data`` into the model and the reader's schema findings.

    Raises `UnsupportedFormat` (legacy 1.1, FSM10, p7m), `BrokenNamespace`, `NotAnInvoice`
    or `InvalidXml` — each names what the bytes are.
    """
    return read_checked(data)[0]


def parse(data: bytes) -> FatturaElettronica:
    """Parse FatturaPA 1.2 bytes (FPA12/FPR12) into the model; see `parse_report`."""
    return parse_report(data).invoice
