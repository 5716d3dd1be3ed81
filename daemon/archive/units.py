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

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

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
from store.archive import Archive, sha256_hex
from store.archive_worm import put_item, put_items
from store.models_archive import (
    ArchiveItem,
    ArchiveLink,
    ArchiveParty,
    ArchiveTerm,
    ArchiveUnit,
)
from store.sql import insert_many, insert_returning_ids

T = TypeVar("T")
U = TypeVar("U")

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
    return (await archive_units(session, archive, [unit], now=now,
                                retention_classes=retention_classes))[0]


async def alongside(writes: Awaitable[T], rows: Awaitable[U]) -> tuple[T, U]:
    """Write bytes to an archive while the rows that name them are inserted; wait for both.

    Both have finished when this returns or raises (the first error is raised), so nothing is
    still being written when the caller's transaction commits or rolls back.
    """
    done = await asyncio.gather(writes, rows, return_exceptions=True)
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return done[0], done[1]  # type: ignore[return-value]  # no exception: T and U


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A new unit ready to store: its items, manifest and retention, computed in memory."""

    unit: NewUnit
    items: list[ManifestItem]
    manifest: bytes
    manifest_sha256: str
    until: dt.datetime


def _prepare(unit: NewUnit, retention_classes: Mapping[str, int] | None) -> _Prepared:
    meta = unit.metadata
    if not unit.items:
        raise ValueError(f"unit {meta.identifier}: nothing to archive")
    years = retention.retention_years(meta.retention_class, retention_classes)
    until = retention.retain_until(meta.date, years)
    # Content-addressed: each item's name is its SHA-256, known before anything is written.
    items = [_manifest_item(i, i.sha256) for i in unit.items]
    manifest = build_manifest(meta, items, retain_until=until.isoformat(), retention_years=years)
    return _Prepared(unit, items, manifest, sha256_hex(manifest), until)


async def archive_units(
    session: AsyncSession,
    archive: Archive,
    new_units: Sequence[NewUnit],
    *,
    now: dt.datetime,
    retention_classes: Mapping[str, int] | None = None,
    rows_first: Callable[[], Awaitable[object]] | None = None,
) -> list[ArchivedUnit]:
    """`archive_unit` for several units at once, in order: one INSERT per table for all.

    The files and manifests are written concurrently, each distinct content once, while the
    rows are inserted; both are done when this returns, so the caller's commit never makes a
    row visible before its bytes. ``rows_first``: the caller's own inserts (the invoices the
    units hold), run before the units' rows while the files are being written.
    """
    existing = {
        row.identifier: row
        for row in await session.scalars(select(ArchiveUnit).where(
            ArchiveUnit.identifier.in_([u.metadata.identifier for u in new_units])))
    }
    fresh: dict[str, _Prepared] = {}
    for unit in new_units:
        ident = unit.metadata.identifier
        if ident not in existing and ident not in fresh:
            fresh[ident] = _prepare(unit, retention_classes)
    prepared = list(fresh.values())

    async def rows() -> list[int]:
        if rows_first is not None:
            await rows_first()
        return await _insert_units(session, prepared, now)

    _, ids = await alongside(put_items(archive, [
        blob for p in prepared
        for blob in [*((i.data, p.until) for i in p.unit.items), (p.manifest, p.until)]
    ]), rows())
    created = {p.unit.metadata.identifier: ArchivedUnit(
        uid, p.unit.metadata.identifier, p.manifest_sha256, 1, p.until, tuple(p.items), True)
        for uid, p in zip(ids, prepared, strict=True)}
    out = []
    for u in new_units:
        ident = u.metadata.identifier
        done = created.pop(ident, None)  # a repeated identifier: the second one exists
        out.append(done or await _outcome(session, existing.get(ident)
                                          or await _require(session, ident), created=False))
    return out


async def _insert_units(
    session: AsyncSession, prepared: Sequence[_Prepared], now: dt.datetime
) -> list[int]:
    if not prepared:
        return []
    ids = await insert_returning_ids(
        session, ArchiveUnit,
        [{
            "identifier": p.unit.metadata.identifier, "kind": p.unit.metadata.kind.value,
            "flow": p.unit.metadata.flow.value, "document_type": p.unit.metadata.document_type,
            "number": p.unit.metadata.number, "doc_date": p.unit.metadata.date,
            "sdi_id": p.unit.metadata.sdi_id, "manifest_sha256": p.manifest_sha256,
            "revision": 1, "retention_class": p.unit.metadata.retention_class,
            "retain_until": p.until, "created_at": now,
        } for p in prepared],
    )
    items, parties, terms, links = [], [], [], []
    for uid, p in zip(ids, prepared, strict=True):
        meta = p.unit.metadata
        items += _item_rows(uid, p.items, now)
        names: set[str] = set()
        for party in meta.parties:
            parties.append({
                "unit_id": uid, "role": party.role.value,
                "display_name": party.display_name[:300],
                "codice_fiscale": _upper(party.codice_fiscale),
                "partita_iva": _upper(party.partita_iva),
            })
            names |= name_terms(party.display_name)
        terms += [{"term": t, "unit_id": uid} for t in sorted(names)]
        links += [_link_values(uid, link_input, p.manifest_sha256) for link_input in meta.links]
    for model, rows in ((ArchiveItem, items), (ArchiveParty, parties), (ArchiveTerm, terms),
                        (ArchiveLink, links)):
        await insert_many(session, model, rows)
    await chaining.append_groups(session, [
        (uid, [*((i.kind.value, i.sha256) for i in p.items), (MANIFEST, p.manifest_sha256)])
        for uid, p in zip(ids, prepared, strict=True)
    ], now=now)
    return ids


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


async def existing_identifiers(session: AsyncSession, identifiers: Sequence[str]) -> set[str]:
    """Which of ``identifiers`` are archived units already (one query)."""
    return set(await session.scalars(select(ArchiveUnit.identifier).where(
        ArchiveUnit.identifier.in_(identifiers))))


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
    session.add_all(ArchiveItem(**row) for row in _item_rows(unit_id, items, now))


def _item_rows(
    unit_id: int, items: Sequence[ManifestItem], now: dt.datetime
) -> list[dict[str, object]]:
    return [
        {"unit_id": unit_id, "filename": i.filename[:255], "kind": i.kind.value,
         "subtype": i.subtype, "media_type": i.media_type, "sha256": i.sha256, "size": i.size,
         "added_at": now}
        for i in items
    ]


def _link_row(unit_id: int, link_input: LinkInput, statement: str) -> ArchiveLink:
    return ArchiveLink(**_link_values(unit_id, link_input, statement))


def _link_values(unit_id: int, link_input: LinkInput, statement: str) -> dict[str, object]:
    return {"unit_id": unit_id, "kind": link_input.kind.value, "target": link_input.target,
            "statement_sha256": statement}


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
