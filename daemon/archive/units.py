"""Put documents into conservazione: archive a unit, add late evidence, link documents.

The public use-cases the invoice pipelines call (issue 7 §1). A unit is one fiscal document
with its evidence (domain.md §6.3): each file is stored byte-identical in the archive under its
SHA-256 and locked for the retention of its class (store/archive_worm.py), a manifest listing
every item and the §6.3 metadata is stored and locked too, and every stored object is chained
(daemon/archive/chaining.py). Like store functions these take the session first and never
commit: the caller's transaction makes the unit visible all at once. Objects put in the archive
by a transaction that later rolls back stay as unreferenced content (harmless: content-addressed,
reused when the unit is archived again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import chaining
from handlers.archive import retention
from handlers.archive.manifest import (
    ManifestItem,
    build_manifest,
    name_terms,
    revise_manifest,
)
from handlers.archive.model import DocumentKind, ItemInput, LinkInput, LinkKind, UnitMetadata
from store.archive import Archive
from store.archive_worm import put_item
from store.models_archive import (
    ArchiveItem,
    ArchiveLink,
    ArchiveParty,
    ArchiveTerm,
    ArchiveUnit,
)

MANIFEST = "manifest"  # chain kind of a manifest (items use their DocumentKind value)


class UnknownUnit(LookupError):
    """No archival unit has that identifier."""


@dataclass(frozen=True, slots=True)
class NewUnit:
    """What a pipeline hands over: the §6.3 metadata and the files, exactly as exchanged."""

    metadata: UnitMetadata
    items: tuple[ItemInput, ...]


@dataclass(frozen=True, slots=True)
class ArchivedUnit:
    """The outcome: where the unit sits and how long it is locked."""

    id: int
    identifier: str
    manifest_sha256: str
    revision: int
    retain_until: dt.datetime
    items: tuple[ManifestItem, ...]
    created: bool  # False when the identifier was already archived (idempotent retry)


def _manifest_item(item: ItemInput, digest: str) -> ManifestItem:
    return ManifestItem(item.filename, digest, len(item.data), item.kind, item.media_type,
                        item.subtype)


async def archive_unit(
    session: AsyncSession,
    archive: Archive,
    unit: NewUnit,
    *,
    now: dt.datetime,
    retention_classes: Mapping[str, int] | None = None,
) -> ArchivedUnit:
    """Archive ``unit``; a second call with the same identifier returns the first outcome."""
    meta = unit.metadata
    if not unit.items:
        raise ValueError(f"unit {meta.identifier}: nothing to archive")
    existing = await _unit(session, meta.identifier)
    if existing is not None:
        return await _outcome(session, existing, created=False)
    years = retention.retention_years(meta.retention_class, retention_classes)
    until = retention.retain_until(meta.date, years)
    items = [_manifest_item(i, await put_item(archive, i.data, until)) for i in unit.items]
    manifest = build_manifest(
        meta, items, retain_until=until.isoformat(), retention_years=years
    )
    manifest_sha = await put_item(archive, manifest, until)
    row = ArchiveUnit(
        identifier=meta.identifier, kind=meta.kind.value, flow=meta.flow.value,
        document_type=meta.document_type, number=meta.number, doc_date=meta.date,
        sdi_id=meta.sdi_id, manifest_sha256=manifest_sha, revision=1,
        retention_class=meta.retention_class, retain_until=until, created_at=now,
    )
    session.add(row)
    await session.flush()
    _add_items(session, row.id, items, now)
    terms: set[str] = set()
    for party in meta.parties:
        session.add(
            ArchiveParty(
                unit_id=row.id, role=party.role.value, display_name=party.display_name[:300],
                codice_fiscale=_upper(party.codice_fiscale),
                partita_iva=_upper(party.partita_iva),
            )
        )
        terms |= name_terms(party.display_name)
    session.add_all(ArchiveTerm(term=t, unit_id=row.id) for t in sorted(terms))
    for link_input in meta.links:
        session.add(_link_row(row.id, link_input, manifest_sha))
    await chaining.append(
        session,
        [*((i.kind.value, i.sha256) for i in items), (MANIFEST, manifest_sha)],
        now=now, unit_id=row.id,
    )
    return ArchivedUnit(row.id, row.identifier, manifest_sha, 1, until, tuple(items), True)


async def add_items(
    session: AsyncSession,
    archive: Archive,
    identifier: str,
    new_items: Sequence[ItemInput],
    *,
    now: dt.datetime,
) -> ArchivedUnit:
    """Add evidence that arrived after archiving (SdI message, PEC receipt): a new revision.

    Items already in the unit (same SHA-256) are skipped, so a redelivered receipt is a no-op.
    """
    row = await _require(session, identifier)
    current = await _items(session, row.id)
    known = {i.sha256 for i in current}
    fresh: list[ManifestItem] = []
    for item in new_items:
        if item.sha256 in known:
            continue
        known.add(item.sha256)
        fresh.append(_manifest_item(item, await put_item(archive, item.data, row.retain_until)))
    if not fresh:
        return await _outcome(session, row, created=False)
    manifest = revise_manifest(
        await archive.get(row.manifest_sha256), supersedes=row.manifest_sha256,
        items=[*current, *fresh],
    )
    await _new_revision(session, archive, row, manifest, fresh, now)
    return await _outcome(session, row, created=True)


async def link(
    session: AsyncSession,
    archive: Archive,
    identifier: str,
    kind: LinkKind,
    target: str,
    *,
    now: dt.datetime,
) -> ArchivedUnit:
    """Link a unit to another document (credit note → invoice; notification → invoice).

    The link is declared in a new manifest revision, so it is archived, locked and chained like
    the rest. Linking twice is a no-op.
    """
    row = await _require(session, identifier)
    already = await session.scalar(
        select(ArchiveLink.id).where(
            ArchiveLink.unit_id == row.id, ArchiveLink.kind == kind.value,
            ArchiveLink.target == target,
        )
    )
    if already is not None:
        return await _outcome(session, row, created=False)
    new_link = LinkInput(kind, target)
    manifest = revise_manifest(
        await archive.get(row.manifest_sha256), supersedes=row.manifest_sha256,
        new_links=[new_link],
    )
    sha = await _new_revision(session, archive, row, manifest, [], now)
    session.add(_link_row(row.id, new_link, sha))
    return await _outcome(session, row, created=True)


async def note_sdi_id(session: AsyncSession, identifier: str, sdi_id: str) -> None:
    """Index a unit under the IdentificativoSdI SdI assigned after it was archived.

    A file we send gets its IdentificativoSdI only with SdI's first message; the manifest
    declares it through a ``notification-of sdi:<id>`` link (`link`), and this fills the
    indexed column so search by it finds the unit (domain.md §6.3: notifications ↔ invoice).
    """
    row = await _require(session, identifier)
    if row.sdi_id is None:
        row.sdi_id = sdi_id


async def get_unit(session: AsyncSession, identifier: str) -> ArchivedUnit | None:
    """Return an archived unit by identifier, or None."""
    row = await _unit(session, identifier)
    return None if row is None else await _outcome(session, row, created=False)


async def items_of(session: AsyncSession, unit_id: int) -> list[ManifestItem]:
    """Return the items of a unit in the order they were archived."""
    return await _items(session, unit_id)


# -- helpers ---------------------------------------------------------------------------------


async def _new_revision(
    session: AsyncSession, archive: Archive, row: ArchiveUnit, manifest: bytes,
    fresh: Sequence[ManifestItem], now: dt.datetime,
) -> str:
    sha = await put_item(archive, manifest, row.retain_until)
    _add_items(session, row.id, fresh, now)
    row.manifest_sha256 = sha
    row.revision += 1
    await session.flush()
    await chaining.append(
        session, [*((i.kind.value, i.sha256) for i in fresh), (MANIFEST, sha)],
        now=now, unit_id=row.id,
    )
    return sha


def _add_items(
    session: AsyncSession, unit_id: int, items: Sequence[ManifestItem], now: dt.datetime
) -> None:
    session.add_all(
        ArchiveItem(
            unit_id=unit_id, filename=i.filename[:255], kind=i.kind.value, subtype=i.subtype,
            media_type=i.media_type, sha256=i.sha256, size=i.size, added_at=now,
        )
        for i in items
    )


def _link_row(unit_id: int, link_input: LinkInput, statement: str) -> ArchiveLink:
    return ArchiveLink(unit_id=unit_id, kind=link_input.kind.value, target=link_input.target,
                       statement_sha256=statement)


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else None


async def _unit(session: AsyncSession, identifier: str) -> ArchiveUnit | None:
    return await session.scalar(select(ArchiveUnit).where(ArchiveUnit.identifier == identifier))


async def _require(session: AsyncSession, identifier: str) -> ArchiveUnit:
    row = await _unit(session, identifier)
    if row is None:
        raise UnknownUnit(f"no archival unit {identifier!r}")
    return row


async def _items(session: AsyncSession, unit_id: int) -> list[ManifestItem]:
    rows = await session.scalars(
        select(ArchiveItem).where(ArchiveItem.unit_id == unit_id).order_by(ArchiveItem.id)
    )
    return [
        ManifestItem(r.filename, r.sha256, r.size, DocumentKind(r.kind), r.media_type, r.subtype)
        for r in rows
    ]


async def _outcome(session: AsyncSession, row: ArchiveUnit, *, created: bool) -> ArchivedUnit:
    return ArchivedUnit(
        row.id, row.identifier, row.manifest_sha256, row.revision, row.retain_until,
        tuple(await _items(session, row.id)), created,
    )
