"""Close *pacchetti di versamento*: the day's units, a signed SInCRO-like index, a rapporto.

Issue 7 §2, domain.md §6.2. The units archived since the last package (up to ``until``, at most
``max_units`` per package) are listed in an index with every file's SHA-256, the agents and
the chain head at closing; the index is signed CAdES-BES with the conservation key (which
"closes" the package), and a *rapporto di versamento* records what was accepted. All three are
archived, locked and chained, so the chain head is anchored in a signed document. Runs in the
caller's transaction and never commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import chaining
from daemon.archive.units import MANIFEST
from handlers.archive.sincro import Agents, IndexFile, build_index, build_report
from handlers.formats.cms_sign import sign_cades_bes
from handlers.formats.sig_common import Signer
from store.archive import Archive
from store.archive_worm import put_item
from store.models_archive import ArchiveItem, ArchivePackage, ArchiveUnit

PACKAGE_INDEX, PACKAGE_SIGNATURE, PACKAGE_REPORT = "pdv-index", "pdv-signature", "pdv-report"


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """A closed package as the CLI and the daily job report it."""

    key: str
    units: int
    files: int
    index_sha256: str
    signed_sha256: str
    report_sha256: str
    chain_seq: int


async def build_package(
    session: AsyncSession,
    archive: Archive,
    signer: Signer,
    agents: Agents,
    *,
    now: dt.datetime,
    until: dt.datetime | None = None,
    max_units: int = 10_000,
) -> PackageInfo | None:
    """Close one PdV with the units not yet packaged (created before ``until``); None if none."""
    query = select(ArchiveUnit).where(ArchiveUnit.package_id.is_(None))
    if until is not None:
        query = query.where(ArchiveUnit.created_at < until)
    units = list(
        (await session.scalars(query.order_by(ArchiveUnit.id).limit(max_units))).all()
    )
    if not units:
        return None
    by_id = {u.id: u for u in units}
    items = await session.scalars(
        select(ArchiveItem).where(ArchiveItem.unit_id.in_(list(by_id))).order_by(ArchiveItem.id)
    )
    files: list[IndexFile] = [
        IndexFile(i.sha256, f"{by_id[i.unit_id].identifier}/{i.filename}", i.sha256,
                  i.media_type, by_id[i.unit_id].identifier)
        for i in items
    ]
    files += [
        IndexFile(u.manifest_sha256, f"{u.identifier}/manifest.xml", u.manifest_sha256,
                  "application/xml", u.identifier)
        for u in units
    ]
    day = now.astimezone(dt.UTC).date()
    count = await session.scalar(
        select(func.count()).select_from(ArchivePackage).where(ArchivePackage.kind == "PdV")
    )
    key = f"PdV-{day.isoformat()}-{int(count or 0) + 1:06d}"
    seq, head = await chaining.head(session)
    dates = [u.doc_date for u in units]
    index = build_index(
        package_id=key, kind="PdV", created=now, period=(min(dates), max(dates)), files=files,
        agents=agents, chain_seq=seq, chain_head=head,
        description=f"pacchetto di versamento: {len(units)} unità documentarie",
    )
    # Package evidence is kept as long as the longest-kept unit in it.
    until_kept = max(u.retain_until for u in units)
    index_sha = await put_item(archive, index, until_kept)
    signed_sha = await put_item(archive, sign_cades_bes(index, signer, signing_time=now),
                                until_kept)
    report = build_report(package_id=key, index_sha256=index_sha, signed_sha256=signed_sha,
                          created=now, accepted=files, agents=agents)
    report_sha = await put_item(archive, report, until_kept)
    package = ArchivePackage(
        package_key=key, kind="PdV", period_start=min(dates), period_end=max(dates),
        created_at=now, index_sha256=index_sha, signed_sha256=signed_sha,
        report_sha256=report_sha, chain_seq=seq, chain_head=head, unit_count=len(units),
    )
    session.add(package)
    await session.flush()
    await session.execute(
        update(ArchiveUnit).where(ArchiveUnit.id.in_(list(by_id))).values(package_id=package.id)
    )
    await chaining.append(
        session,
        [(PACKAGE_INDEX, index_sha), (PACKAGE_SIGNATURE, signed_sha), (PACKAGE_REPORT, report_sha)],
        now=now, package_id=package.id,
    )
    return PackageInfo(key, len(units), len(files), index_sha, signed_sha, report_sha, seq)


async def list_packages(session: AsyncSession) -> list[ArchivePackage]:
    """Every package, oldest first."""
    return list((await session.scalars(select(ArchivePackage).order_by(ArchivePackage.id))).all())


__all__ = ["MANIFEST", "PackageInfo", "build_package", "list_packages"]
