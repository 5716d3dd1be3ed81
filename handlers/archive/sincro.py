"""Package indexes in the spirit of UNI 11386:2020 SInCRO (domain.md §6.2), and the rapporto.

`build_index` writes the index of a *pacchetto di versamento* (PdV) or *di distribuzione* (PdD):
self-description (id, creating application, source), the volume (VdC), groups of files with
their hash, algorithm and format, the process (agents: responsabile della conservazione and
producer; time reference; legal references) and the chain head at closing. Element names follow
SInCRO's (PIndex, SelfDescription, PVolume, FileGroup, File, Process, Agent, TimeReference) in
pecora's own namespace: the structure is SInCRO's, conformance to the UNI XSD is not claimed.
The index is then signed (CAdES-BES) by the caller with the conservation key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from handlers.archive.model import HASH_ALGORITHM
from handlers.formats import xmlsafe

NS = "urn:pecora:conservazione:sincro:1"
_Q = "{%s}" % NS  # noqa: UP031 - lxml Clark notation
LAWS = (
    "D.Lgs. 82/2005 (CAD) artt. 43-44",
    "AgID Linee Guida sulla formazione, gestione e conservazione dei documenti informatici (2021)",
    "DM MEF 17 giugno 2014",
    "UNI 11386:2020 (SInCRO)",
)


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file the package holds."""

    id: str  # sha256 (content address)
    path: str  # path inside the package / unit
    sha256: str
    media_type: str
    group: str  # unit identifier the file belongs to


@dataclass(frozen=True, slots=True)
class Agents:
    """Who: the responsabile della conservazione and the producer (the organisation)."""

    responsible: str
    producer: str
    application: str = "pecora"
    version: str = "0.1.0"


@dataclass(frozen=True, slots=True)
class IndexSummary:
    """What verify reads back from a package index."""

    package_id: str
    kind: str
    chain_seq: int
    chain_head: str
    files: tuple[IndexFile, ...]


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + tag, dict(attrs))
    if text is not None:
        el.text = text
    return el


def build_index(
    *,
    package_id: str,
    kind: str,  # "PdV" | "PdD"
    created: dt.datetime,
    period: tuple[dt.date, dt.date] | None,
    files: Sequence[IndexFile],
    agents: Agents,
    chain_seq: int,
    chain_head: str,
    description: str = "",
) -> bytes:
    """Return the index XML of a package (deterministic for the same inputs)."""
    root = etree.Element(_Q + "PIndex", nsmap={None: NS})
    root.set("kind", kind)
    me = _sub(root, "SelfDescription")
    _sub(me, "ID", package_id)
    app = _sub(me, "CreatingApplication")
    _sub(app, "Name", agents.application)
    _sub(app, "Version", agents.version)
    _sub(app, "Producer", agents.producer)
    vol = _sub(root, "PVolume")
    _sub(vol, "ID", package_id)
    if period is not None:
        _sub(vol, "Period", start=period[0].isoformat(), end=period[1].isoformat())
    if description:
        _sub(vol, "Description", description)
    groups: dict[str, list[IndexFile]] = {}
    for f in files:
        groups.setdefault(f.group, []).append(f)
    for label, members in groups.items():
        grp = _sub(root, "FileGroup")
        _sub(grp, "Label", label)
        for f in members:
            fe = _sub(grp, "File", format=f.media_type)
            _sub(fe, "ID", f.id)
            _sub(fe, "Path", f.path)
            _sub(fe, "Hash", f.sha256, function=HASH_ALGORITHM)
    proc = _sub(root, "Process")
    _sub(proc, "Agent", agents.responsible, type="person", role="PreservationManager")
    _sub(proc, "Agent", agents.producer, type="organization", role="Producer")
    _sub(proc, "Agent", f"{agents.application} {agents.version}", type="software",
         role="OtherRole")
    _sub(proc, "TimeReference", created.astimezone(dt.UTC).isoformat(timespec="seconds"))
    _sub(proc, "ChainHead", chain_head, seq=str(chain_seq), function=HASH_ALGORITHM)
    laws = _sub(proc, "LawsAndRegulations")
    for law in LAWS:
        _sub(laws, "Reference", law)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def read_index(data: bytes) -> IndexSummary:
    """Parse what `build_index` wrote (raises ``ValueError`` on anything else)."""
    root = xmlsafe.parse(data)
    if root.tag != _Q + "PIndex":
        raise ValueError(f"not a pecora package index: root {root.tag}")
    head = root.find(f"{_Q}Process/{_Q}ChainHead")
    files = tuple(
        IndexFile(
            id=fe.findtext(_Q + "ID") or "",
            path=fe.findtext(_Q + "Path") or "",
            sha256=fe.findtext(_Q + "Hash") or "",
            media_type=fe.get("format") or "",
            group=grp.findtext(_Q + "Label") or "",
        )
        for grp in root.iterfind(_Q + "FileGroup")
        for fe in grp.iterfind(_Q + "File")
    )
    return IndexSummary(
        package_id=root.findtext(f"{_Q}SelfDescription/{_Q}ID") or "",
        kind=root.get("kind") or "",
        chain_seq=int(head.get("seq") or 0) if head is not None else 0,
        chain_head=(head.text or "") if head is not None else "",
        files=files,
    )


def build_report(
    *, package_id: str, index_sha256: str, signed_sha256: str, created: dt.datetime,
    accepted: Sequence[IndexFile], agents: Agents,
) -> bytes:
    """Return the *rapporto di versamento*: what was accepted, with the hashes (§6.2)."""
    root = etree.Element(_Q + "RapportoVersamento", nsmap={None: NS})
    _sub(root, "Package", package_id)
    _sub(root, "IndexHash", index_sha256, function=HASH_ALGORITHM)
    _sub(root, "SignedIndexHash", signed_sha256, function=HASH_ALGORITHM)
    _sub(root, "TimeReference", created.astimezone(dt.UTC).isoformat(timespec="seconds"))
    _sub(root, "Outcome", "accepted", count=str(len(accepted)))
    _sub(root, "Agent", agents.responsible, role="PreservationManager")
    files = _sub(root, "Accepted")
    for f in accepted:
        _sub(files, "File", f.sha256, path=f.path, function=HASH_ALGORITHM)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
