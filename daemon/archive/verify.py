"""`pecora archive verify`: recompute every hash and the chain, and name every problem.

Issue 7 §3. Four checks, each naming the unit and file concerned:

* the chain (handlers/archive/chain.py): altered, reordered or missing entries;
* every chained object is fetched from the archive and re-hashed: *missing* or *altered*;
* each unit's current manifest lists exactly the unit's items (a row added or dropped in the
  store behind pecora's back shows up here);
* each package: its signed index encloses exactly the stored index, the CAdES signature is
  intact (and trusted, when a trust store is given), and the chain head it sealed is still the
  entry at that position — a chain rewritten after packaging cannot match a signed head.

Reads only; objects are fetched with bounded concurrency (S3 round trips), and ``progress`` is
called as they complete so the CLI can draw a bar.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import chaining
from daemon.archive.units import MANIFEST
from handlers.archive.chain import ChainEntry, Problem, check_chain
from handlers.archive.manifest import read_manifest
from handlers.archive.sincro import read_index
from handlers.formats import p7m
from handlers.formats.trust import TrustStore
from store.archive import Archive, ArchiveError, ItemCorrupt, ItemMissing
from store.models_archive import ArchiveItem, ArchivePackage, ArchiveUnit

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    """What verify checked and what it found."""

    entries: int = 0
    units: int = 0
    packages: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_archive(
    session: AsyncSession,
    archive: Archive,
    *,
    trust: TrustStore | None = None,
    progress: Progress | None = None,
    concurrency: int = 16,
) -> VerifyReport:
    """Check the whole archive; never raises for a problem found, only reports it."""
    chain = await chaining.entries(session)
    units = {u.id: u for u in (await session.scalars(select(ArchiveUnit))).all()}
    names: dict[tuple[int, str], str] = {}
    unit_items: dict[int, set[str]] = {uid: set() for uid in units}
    for item in (await session.scalars(select(ArchiveItem))).all():
        names[(item.unit_id, item.sha256)] = item.filename
        unit_items.setdefault(item.unit_id, set()).add(item.sha256)
    report = VerifyReport(entries=len(chain), units=len(units))
    report.problems.extend(check_chain(e for e, _ in chain))

    def where(entry: ChainEntry, unit_id: int | None) -> str:
        if unit_id is None:
            return f"{entry.kind} {entry.ref[:12]} (entry {entry.seq})"
        unit = units.get(unit_id)
        label = unit.identifier if unit else f"unit #{unit_id}"
        name = "manifest" if entry.kind == MANIFEST else names.get((unit_id, entry.ref), entry.kind)
        return f"{label}: {name} {entry.ref[:12]} (entry {entry.seq})"

    fetched: dict[str, bytes] = {}  # only the manifests and package files, kept for later checks
    keep = {u.manifest_sha256 for u in units.values()}
    packages = list(await session.scalars(select(ArchivePackage).order_by(ArchivePackage.id)))
    keep |= {p.index_sha256 for p in packages} | {p.signed_sha256 for p in packages}
    gate = asyncio.Semaphore(concurrency)
    done = 0
    total = len(chain)

    async def check(entry: ChainEntry, unit_id: int | None) -> None:
        nonlocal done
        async with gate:
            try:
                data = await archive.get(entry.ref)
            except ItemMissing:
                report.problems.append(Problem("missing", entry.seq,
                                               f"{where(entry, unit_id)} is missing"))
            except ItemCorrupt:
                report.problems.append(Problem("altered", entry.seq,
                                               f"{where(entry, unit_id)} was altered"))
            except ArchiveError as exc:
                report.problems.append(Problem("unreadable", entry.seq,
                                               f"{where(entry, unit_id)}: {exc}"))
            else:
                if entry.ref in keep:
                    fetched[entry.ref] = data
            done += 1
            if progress is not None:
                progress(done, total)

    # Sliced so a 100,000-unit archive does not create every task at once.
    for start in range(0, len(chain), 4096):
        await asyncio.gather(*(check(e, u) for e, u in chain[start : start + 4096]))

    for unit in units.values():
        data = fetched.get(unit.manifest_sha256)
        if data is None:
            continue  # already reported as missing or altered
        try:
            listed = {i.sha256 for i in read_manifest(data).items}
        except ValueError as exc:
            report.problems.append(Problem("manifest", None, f"{unit.identifier}: {exc}"))
            continue
        stored = unit_items.get(unit.id, set())
        for sha in sorted(listed - stored):
            report.problems.append(Problem(
                "manifest", None, f"{unit.identifier}: manifest lists {sha[:12]}, not in store"))
        for sha in sorted(stored - listed):
            report.problems.append(Problem(
                "manifest", None, f"{unit.identifier}: store has {sha[:12]}, not in manifest"))

    by_seq = {e.seq: e for e, _ in chain}
    for package in packages:
        report.packages += 1
        report.problems.extend(_check_package(package, fetched, by_seq, trust))
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.code, p.detail))
    return report


def _check_package(
    package: ArchivePackage, fetched: dict[str, bytes], by_seq: dict[int, ChainEntry],
    trust: TrustStore | None,
) -> list[Problem]:
    key = package.package_key
    index, signed = fetched.get(package.index_sha256), fetched.get(package.signed_sha256)
    if index is None or signed is None:
        return []  # the missing/altered file is already reported
    problems: list[Problem] = []
    try:
        unwrapped = p7m.unwrap(signed)
        verdict = p7m.verify(unwrapped, trust or TrustStore())
    except ValueError as exc:
        return [Problem("package", None, f"{key}: signed index unreadable: {exc}")]
    if unwrapped.content != index:
        problems.append(Problem("package", None, f"{key}: signed index differs from the index"))
    if not verdict.intact or (trust is not None and not verdict.ok):
        problems.append(Problem("package", None, f"{key}: index signature {verdict.reason}"))
    summary = read_index(index)
    sealed = by_seq.get(summary.chain_seq)
    if summary.chain_seq and (sealed is None or sealed.hash != summary.chain_head):
        problems.append(Problem(
            "package", summary.chain_seq,
            f"{key}: chain head sealed at entry {summary.chain_seq} no longer matches the chain"))
    return problems
