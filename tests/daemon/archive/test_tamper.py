"""Tamper evidence on each backend: flip one byte, delete one file, reorder the chain, edit the
store behind pecora's back — verify names each problem, and the unit and file concerned."""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.archive.packages import build_package
from daemon.archive.units import ArchivedUnit, archive_unit
from daemon.archive.verify import verify_archive
from handlers.formats.sig_common import Pkcs12Signer
from store.archive_s3 import S3ObjectLockArchive
from store.archive_worm import RetainedFilesystemArchive, WormArchive
from store.models_archive import ArchiveChainEntry
from tests.support.archive_data import AGENTS, NOW, sample_unit

Sessions = async_sessionmaker[AsyncSession]


async def _three_units(sessions: Sessions, worm: WormArchive) -> list[ArchivedUnit]:
    async with sessions() as s, s.begin():
        return [await archive_unit(s, worm, sample_unit(n), now=NOW) for n in (1, 2, 3)]


def _flip_byte(worm: WormArchive, sha: str) -> None:
    if isinstance(worm, RetainedFilesystemArchive):
        path = worm.path_of(sha)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        os.chmod(path, 0o644)
        path.write_bytes(bytes(data))
    else:
        assert isinstance(worm, S3ObjectLockArchive)
        key = worm.key_of(sha)
        data = bytearray(worm.client.get_object(Bucket=worm.bucket, Key=key)["Body"].read())
        data[len(data) // 2] ^= 0x01
        # The locked version cannot change; a new version on top is what an intruder can do.
        worm.client.put_object(Bucket=worm.bucket, Key=key, Body=bytes(data))


def _delete(worm: WormArchive, sha: str) -> None:
    if isinstance(worm, RetainedFilesystemArchive):
        worm.path_of(sha).unlink()
    else:
        assert isinstance(worm, S3ObjectLockArchive)
        # Without a version id S3 adds a delete marker: the object is gone for readers.
        worm.client.delete_object(Bucket=worm.bucket, Key=worm.key_of(sha))


async def test_clean_archive_verifies(sessions: Sessions, worm: WormArchive) -> None:
    await _three_units(sessions, worm)
    seen: list[tuple[int, int]] = []
    async with sessions() as s:
        report = await verify_archive(s, worm, progress=lambda d, t: seen.append((d, t)))
    assert report.ok and report.entries == 12 and report.units == 3
    assert seen[-1] == (12, 12)


async def test_flipped_byte_is_named(sessions: Sessions, worm: WormArchive) -> None:
    units = await _three_units(sessions, worm)
    _flip_byte(worm, units[1].items[0].sha256)
    async with sessions() as s:
        report = await verify_archive(s, worm)
    assert [(p.code, p.seq) for p in report.problems] == [("altered", 5)]
    assert "out/IT09876543210_00002.xml: IT09876543210_00002.xml" in report.problems[0].detail


async def test_deleted_file_is_named(sessions: Sessions, worm: WormArchive) -> None:
    units = await _three_units(sessions, worm)
    _delete(worm, units[2].items[2].sha256)
    async with sessions() as s:
        report = await verify_archive(s, worm)
    assert [(p.code, p.seq) for p in report.problems] == [("missing", 11)]
    assert "out/IT09876543210_00003.xml: consegna-3.eml" in report.problems[0].detail


async def test_reordered_chain_is_named(sessions: Sessions, worm: WormArchive) -> None:
    await _three_units(sessions, worm)
    async with sessions() as s, s.begin():  # swap entries 6 and 7 behind pecora's back
        for old, new in ((6, -1), (7, 6), (-1, 7)):
            await s.execute(
                update(ArchiveChainEntry).where(ArchiveChainEntry.seq == old).values(seq=new)
            )
    async with sessions() as s:
        report = await verify_archive(s, worm)
    codes = [(p.code, p.seq) for p in report.problems]
    assert codes == [("reordered", 6), ("reordered", 7), ("reordered", 8)], report.problems
    assert "entry 6 (pec-receipt" in report.problems[0].detail
    assert "was chained after entry 7" in report.problems[0].detail


async def test_deleted_chain_row_and_edited_store_are_named(
    sessions: Sessions, worm: WormArchive
) -> None:
    await _three_units(sessions, worm)
    async with sessions() as s, s.begin():
        await s.execute(text("DELETE FROM archive_chain WHERE seq = 2"))
        await s.execute(text("DELETE FROM archive_item WHERE filename = 'consegna-3.eml'"))
        await s.execute(text("UPDATE archive_chain SET ref = :r WHERE seq = 9"), {"r": "f" * 64})
    async with sessions() as s:
        report = await verify_archive(s, worm)
    codes = sorted({p.code for p in report.problems})
    assert codes == ["chain-altered", "chain-gap", "manifest", "missing"], report.problems
    assert any("consegna-3" not in p.detail and p.code == "manifest" and "00003" in p.detail
               for p in report.problems)


async def test_chain_rewritten_after_packaging_breaks_the_signed_head(
    sessions: Sessions, worm: WormArchive, conservation_key: tuple[bytes, Pkcs12Signer]
) -> None:
    await _three_units(sessions, worm)
    async with sessions() as s, s.begin():
        await build_package(s, worm, conservation_key[1], AGENTS,
                            now=NOW + dt.timedelta(days=1))
    async with sessions() as s, s.begin():  # recompute a "valid" chain for a forged entry
        await s.execute(text("UPDATE archive_chain SET hash = :h WHERE seq = 12"),
                        {"h": "e" * 64})
    async with sessions() as s:
        report = await verify_archive(s, worm)
    assert {p.code for p in report.problems} >= {"chain-altered", "package"}
    assert any("PdV-" in p.detail and "no longer matches" in p.detail for p in report.problems)
