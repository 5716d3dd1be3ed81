"""`pecora archive export`: a *pacchetto di distribuzione* (PdD) for an auditor (issue 7 §2).

A zip holding, for each selected unit, its files byte-identical and its manifest; the PdVs that
hold them (signed index and rapporto); an ``index.xml`` (SInCRO-like, kind PdD) listing every
file with its SHA-256; and ``index.xml.p7m``, that index signed with the conservation key. Every
file is fetched from the archive, so its hash is checked on the way out. The zip is written to
a temporary name and renamed, so a failed export leaves no half file behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import chaining
from handlers.archive.sincro import Agents, IndexFile, build_index
from handlers.formats.cms_sign import sign_cades_bes
from handlers.formats.sig_common import Signer
from store.archive import Archive, sha256_hex
from store.models_archive import ArchiveItem, ArchivePackage, ArchiveUnit


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What went into the zip."""

    path: Path
    units: int
    files: int
    index_sha256: str


def _safe(identifier: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identifier).strip("._") or "unit"


async def export_distribution(
    session: AsyncSession,
    archive: Archive,
    dest: Path,
    signer: Signer,
    agents: Agents,
    *,
    now: dt.datetime,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    identifiers: list[str] | None = None,
) -> ExportResult:
    """Write the PdD zip for the units in the period and/or the identifiers given."""
    query = select(ArchiveUnit)
    if date_from:
        query = query.where(ArchiveUnit.doc_date >= date_from)
    if date_to:
        query = query.where(ArchiveUnit.doc_date <= date_to)
    if identifiers:
        query = query.where(ArchiveUnit.identifier.in_(identifiers))
    units = list((await session.scalars(query.order_by(ArchiveUnit.id))).all())
    by_id = {u.id: u for u in units}
    entries: list[tuple[str, str, str, str]] = []  # (zip path, sha256, media type, group)
    if units:
        items = await session.scalars(
            select(ArchiveItem).where(ArchiveItem.unit_id.in_(list(by_id)))
            .order_by(ArchiveItem.id)
        )
        for i in items:
            unit = by_id[i.unit_id]
            entries.append((f"units/{_safe(unit.identifier)}/{_safe(i.filename)}", i.sha256,
                            i.media_type, unit.identifier))
        for u in units:
            entries.append((f"units/{_safe(u.identifier)}/manifest.xml", u.manifest_sha256,
                            "application/xml", u.identifier))
        package_ids = {u.package_id for u in units if u.package_id is not None}
        for p in await session.scalars(
            select(ArchivePackage).where(ArchivePackage.id.in_(package_ids))
        ):
            for name, sha, media in (
                ("index.xml", p.index_sha256, "application/xml"),
                ("index.xml.p7m", p.signed_sha256, "application/pkcs7-mime"),
                ("rapporto.xml", p.report_sha256, "application/xml"),
            ):
                entries.append((f"packages/{p.package_key}/{name}", sha, media, p.package_key))
    seq, head = await chaining.head(session)
    files = [IndexFile(sha, path, sha, media, group) for path, sha, media, group in entries]
    period = (date_from, date_to) if date_from and date_to else None
    key = f"PdD-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    index = build_index(package_id=key, kind="PdD", created=now, period=period, files=files,
                        agents=agents, chain_seq=seq, chain_head=head,
                        description=f"pacchetto di distribuzione: {len(units)} unità")
    signed = sign_cades_bes(index, signer, signing_time=now)
    blobs = {sha: await archive.get(sha) for _, sha, _, _ in entries}  # hash-checked by get
    await asyncio.to_thread(_write_zip, dest, entries, blobs, index, signed)
    return ExportResult(dest, len(units), len(entries), sha256_hex(index))


def _write_zip(
    dest: Path, entries: list[tuple[str, str, str, str]], blobs: dict[str, bytes],
    index: bytes, signed: bytes,
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path, sha, _, _ in entries:
                zf.writestr(path, blobs[sha])
            zf.writestr("index.xml", index)
            zf.writestr("index.xml.p7m", signed)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
