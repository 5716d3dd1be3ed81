"""The manifest of an archival unit: SHA-256 of each item and the metadata of domain.md §6.3.

The manifest is itself archived (content-addressed) and chained, so it is the unit's sealed
statement of what it holds. Its bytes are deterministic for the same inputs: verify can rebuild
the expected item list from the store and compare. A unit that later receives more evidence
(a late SdI message) gets a new manifest *revision* naming the one it supersedes; manifests are
never rewritten.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from handlers.archive.model import HASH_ALGORITHM, DocumentKind, LinkInput, UnitMetadata
from handlers.formats import xmlsafe

NS = "urn:pecora:conservazione:manifest:1"
_Q = "{%s}" % NS  # noqa: UP031 - lxml Clark notation


@dataclass(frozen=True, slots=True)
class ManifestItem:
    """One item as the manifest lists it."""

    filename: str
    sha256: str
    size: int
    kind: DocumentKind
    media_type: str
    subtype: str | None = None


@dataclass(frozen=True, slots=True)
class ManifestSummary:
    """What verify needs back from a manifest: identity, revision and the listed items."""

    identifier: str
    revision: int
    supersedes: str | None
    items: tuple[ManifestItem, ...]


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + tag, dict(attrs))
    if text is not None:
        el.text = text
    return el


def _items(root: etree._Element, items: Sequence[ManifestItem]) -> None:
    files = _sub(root, "Items", count=str(len(items)))
    for item in items:
        el = _sub(files, "Item", kind=item.kind.value, mediaType=item.media_type)
        if item.subtype:
            el.set("subtype", item.subtype)
        _sub(el, "Name", item.filename)
        _sub(el, "Size", str(item.size))
        _sub(el, "Hash", item.sha256, algorithm=HASH_ALGORITHM)


def build_manifest(
    meta: UnitMetadata,
    items: Sequence[ManifestItem],
    *,
    retain_until: str,
    retention_years: int,
    revision: int = 1,
    supersedes: str | None = None,
    extra_links: Sequence[LinkInput] = (),
) -> bytes:
    """Return the manifest XML (UTF-8, deterministic) of a unit."""
    root = etree.Element(_Q + "Manifest", nsmap={None: NS})
    root.set("revision", str(revision))
    if supersedes:
        root.set("supersedes", supersedes)
    _sub(root, "Identifier", meta.identifier)
    doc = _sub(root, "Document", kind=meta.kind.value, flow=meta.flow.value)
    _sub(doc, "Type", meta.document_type)  # tipologia documentale (TD code)
    _sub(doc, "Number", meta.number)
    _sub(doc, "Date", meta.date.isoformat())
    if meta.description:
        _sub(doc, "Description", meta.description)
    if meta.sdi_id:
        _sub(doc, "IdentificativoSdI", meta.sdi_id)
    _sub(doc, "Formation", meta.formation)
    _sub(doc, "Format", meta.file_format, version=meta.format_version)
    _sub(doc, "Verification", meta.signature_outcome, signed="true" if meta.signed else "false")
    _sub(doc, "Confidential", "true" if meta.confidential else "false")
    reg = _sub(doc, "Registration", flow=meta.flow.value)
    if meta.registration_number:
        reg.set("number", meta.registration_number)
    if meta.registration_date:
        reg.set("date", meta.registration_date.isoformat())
    retention = _sub(doc, "Retention", retain_until, years=str(retention_years))
    retention.set("class", meta.retention_class)
    parties = _sub(root, "Parties")
    for p in meta.parties:
        el = _sub(parties, "Party", role=p.role.value)
        for tag, value in (
            ("Denomination", p.denomination),
            ("Name", p.name),
            ("Surname", p.surname),
            ("CodiceFiscale", p.codice_fiscale),
            ("PartitaIVA", p.partita_iva),
        ):
            if value:
                _sub(el, tag, value)
    links = _sub(root, "Links")
    for link in (*meta.links, *extra_links):
        _sub(links, "Link", link.target, kind=link.kind.value)
    _items(root, items)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def read_manifest(data: bytes) -> ManifestSummary:
    """Parse what `build_manifest` wrote (raises ``ValueError`` on anything else)."""
    root = xmlsafe.parse(data)
    if root.tag != _Q + "Manifest":
        raise ValueError(f"not a pecora manifest: root {root.tag}")
    items = tuple(
        ManifestItem(
            filename=el.findtext(_Q + "Name") or "",
            sha256=el.findtext(_Q + "Hash") or "",
            size=int(el.findtext(_Q + "Size") or 0),
            kind=DocumentKind(el.get("kind")),
            media_type=el.get("mediaType") or "",
            subtype=el.get("subtype"),
        )
        for el in root.iterfind(f"{_Q}Items/{_Q}Item")
    )
    return ManifestSummary(
        identifier=root.findtext(_Q + "Identifier") or "",
        revision=int(root.get("revision") or 1),
        supersedes=root.get("supersedes"),
        items=items,
    )


def revise_manifest(
    previous: bytes,
    *,
    supersedes: str,
    items: Sequence[ManifestItem] | None = None,
    new_links: Sequence[LinkInput] = (),
) -> bytes:
    """Return the next revision of a manifest: same metadata, new item list and/or links.

    Used when evidence arrives after a unit was archived (a late SdI message) or a link is
    added later (a credit note to an older invoice): manifests are never rewritten in place.
    """
    root = xmlsafe.parse(previous)
    if root.tag != _Q + "Manifest":
        raise ValueError(f"not a pecora manifest: root {root.tag}")
    root.set("revision", str(int(root.get("revision") or 1) + 1))
    root.set("supersedes", supersedes)
    links = root.find(_Q + "Links")
    if links is None:  # pragma: no cover - build_manifest always writes it
        links = _sub(root, "Links")
    for link in new_links:
        _sub(links, "Link", link.target, kind=link.kind.value)
    if items is not None:
        old = root.find(_Q + "Items")
        if old is not None:
            root.remove(old)
        _items(root, items)
    etree.indent(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def name_terms(text: str) -> set[str]:
    """Return the lowercase, accent-free words of a name (what search by name matches)."""
    folded = unicodedata.normalize("NFKD", text)
    ascii_ish = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return {w[:80] for w in re.split(r"[^0-9a-z]+", ascii_ish) if len(w) >= 2}
