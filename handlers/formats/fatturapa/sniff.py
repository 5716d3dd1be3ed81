"""Tell which invoice format some bytes hold, from the root start tag only (no full parse).

Used to route input (FPA12/FPR12 to the reader; legacy 1.1 and simplified FSM10 recognised and
refused; CAdES .p7m to the unwrapper) and to explain parse failures: lxml refuses the real-world
file with a space in its default namespace (ref ZGEXQROO37831), the sniffer still names it.
The scan works on the raw bytes, so it is encoding-agnostic for every ASCII-compatible
encoding (UTF-8 with/without BOM, Latin-1, Windows-1252); UTF-16 is decoded first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .model import NAMESPACE


class FormatKind(StrEnum):
    """What the sniffer recognised."""

    FPA12 = "FPA12"
    FPR12 = "FPR12"
    BAD_VERSIONE = "FatturaPA-1.2-unknown-versione"  # right namespace, versione not FPA12/FPR12
    FSM10 = "FSM10"  # simplified invoice, namespace .../fatture/v1.0
    LEGACY_1_1 = "legacy-1.1"  # http://www.fatturapa.gov.it/sdi/fatturapa/v1.x
    BROKEN_NAMESPACE = "broken-namespace"
    CMS = "p7m"  # CAdES envelope (DER/BER or base64): unwrap first
    NOT_INVOICE = "not-an-invoice"


FSM10_NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0"
LEGACY_PREFIX = "http://www.fatturapa.gov.it/sdi/fatturapa/v1."
DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """Result of `sniff`."""

    kind: FormatKind
    root: str | None = None  # local name of the root element
    namespace: str | None = None  # as written (may be broken)
    versione: str | None = None
    encoding: str | None = None  # declared in the XML declaration
    bom: bool = False
    xades_signed: bool = False  # a ds:Signature seems present (hint only)
    detail: str = ""


_BOM = b"\xef\xbb\xbf"
_HEAD = 65536
_DECL_ENC = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_START = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)((?:\s+[^\s=/>]+\s*=\s*"
                    rb"""(?:"[^"]*"|'[^']*'))*)\s*/?>""")
_ATTR = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SIG = re.compile(rb"<(?:[\w.\-]+:)?Signature[\s>]")
_SIG_WORD = re.compile(rb"Signature[\s>]")  # literal prefix: the regex engine skips ahead fast
_B64 = re.compile(rb"[A-Za-z0-9+/=\r\n]+")


def _root_tag(head: bytes) -> re.Match[bytes] | None:
    pos = 0
    while True:
        pos = head.find(b"<", pos)
        if pos < 0 or pos + 1 >= len(head):
            return None
        nxt = head[pos + 1:pos + 4]
        if nxt.startswith(b"?"):
            end = head.find(b"?>", pos)
            pos = end + 2 if end >= 0 else len(head)
        elif nxt.startswith(b"!--"):
            end = head.find(b"-->", pos)
            pos = end + 3 if end >= 0 else len(head)
        elif nxt.startswith(b"!"):
            end = head.find(b">", pos)  # DOCTYPE: xmlsafe will refuse it anyway
            pos = end + 1 if end >= 0 else len(head)
        else:
            return _START.match(head, pos)


def _has_signature_tag(tail: bytes) -> bool:
    """``_SIG.search(tail) is not None``, without trying the pattern at every ``<``.

    A match of `_SIG` ends in a match of `_SIG_WORD` (which cannot overlap itself), and its
    ``<`` is the last one before that word (a prefix has no ``<``): so trying `_SIG` only
    there finds exactly the same tags.
    """
    for m in _SIG_WORD.finditer(tail):
        lt = tail.rfind(b"<", 0, m.start())
        if lt >= 0 and _SIG.match(tail, lt) is not None:
            return True
    return False


def sniff(data: bytes) -> FormatInfo:
    """Classify ``data`` from its first 64 KiB (root tag) without building a tree."""
    bom = data.startswith(_BOM)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: rare, transcode the head only
        data = data[:_HEAD].decode("utf-16", errors="replace").encode("utf-8")
    head = data[3:_HEAD] if bom else data[:_HEAD]
    stripped = head.lstrip()
    if stripped[:1] == b"\x30":
        return FormatInfo(FormatKind.CMS, detail="DER/BER CMS (CAdES .p7m): unwrap first")
    if stripped[:2] == b"MI" and _B64.fullmatch(stripped[:4096].rstrip()):
        return FormatInfo(FormatKind.CMS, detail="base64 CMS (CAdES .p7m): unwrap first")
    enc_m = _DECL_ENC.match(stripped)
    encoding = enc_m.group(1).decode("ascii") if enc_m else None
    m = _root_tag(head)
    if m is None:
        return FormatInfo(FormatKind.NOT_INVOICE, encoding=encoding, bom=bom,
                          detail="no XML root element found")
    qname = m.group(1).decode("latin-1")
    prefix, _, local = qname.rpartition(":")
    attrs = {
        a.decode("latin-1"): (v1 if v1 is not None else v2).decode("latin-1")
        for a, v1, v2 in _ATTR.findall(m.group(2))
    }
    ns = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns")
    versione = attrs.get("versione")
    tail = data[-8192:]  # an enveloped XAdES signature is the root's last child
    signed = DSIG_NAMESPACE.encode() in data[:_HEAD] + tail and _has_signature_tag(tail)

    def mk(kind: FormatKind, detail: str = "") -> FormatInfo:
        return FormatInfo(kind, local, ns, versione, encoding, bom, signed, detail)

    if ns == NAMESPACE and local == "FatturaElettronica":
        if versione in ("FPA12", "FPR12"):
            return mk(FormatKind(versione))
        return mk(FormatKind.BAD_VERSIONE, f"versione {versione!r} is neither FPA12 nor FPR12")
    if ns == FSM10_NAMESPACE or local == "FatturaElettronicaSemplificata":
        return mk(FormatKind.FSM10, "simplified invoice (FSM10) is not supported")
    if ns is not None and ns.startswith(LEGACY_PREFIX):
        return mk(FormatKind.LEGACY_1_1, f"obsolete FatturaPA format {ns.rsplit('/', 1)[-1]}")
    if local == "FatturaElettronica":
        squeezed = "".join((ns or "").split())
        why = ("no namespace" if ns is None else
               f"namespace {ns!r} contains whitespace" if squeezed == NAMESPACE else
               f"unknown namespace {ns!r}")
        return mk(FormatKind.BROKEN_NAMESPACE, why)
    return mk(FormatKind.NOT_INVOICE, f"root element {qname!r} is not a FatturaPA invoice")
