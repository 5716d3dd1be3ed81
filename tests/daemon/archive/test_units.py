"""Archive units on each backend and database: stored byte-identical, idempotent, revised on
late evidence, linked, packaged, exported as a signed PdD, and verified clean."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.archive import chaining
from daemon.archive.export import export_distribution
from daemon.archive.packages import build_package
from daemon.archive.units import add_items, archive_unit, get_unit, link
from daemon.archive.verify import verify_archive
from handlers.archive.chain import check_chain
from handlers.archive.manifest import read_manifest
from handlers.archive.model import DocumentKind, ItemInput, LinkInput, LinkKind
from handlers.archive.sincro import read_index
from handlers.formats import p7m
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore
from store.archive_worm import WormArchive
from store.models_archive import ArchiveLink, ArchiveUnit
from tests.support.archive_data import AGENTS, NOW, sample_unit

Sessions = async_sessionmaker[AsyncSession]


async def test_unit_is_stored_byte_identical_with_a_manifest_and_chained(
    sessions: Sessions, worm: WormArchive
) -> None:
    unit = sample_unit(1)
    async with sessions() as s, s.begin():
        done = await archive_unit(s, worm, unit, now=NOW)
    assert done.created and done.revision == 1
    assert done.retain_until == dt.datetime(2036, 1, 1, tzinfo=dt.UTC)  # 2025 + 10 years
    for given, stored in zip(unit.items, done.items, strict=True):
        assert await worm.get(stored.sha256) == given.data
        assert await worm.retention(stored.sha256) == done.retain_until
    manifest = read_manifest(await worm.get(done.manifest_sha256))
    assert manifest.identifier == "out/IT09876543210_00001.xml"
    assert [i.sha256 for i in manifest.items] == [i.sha256 for i in unit.items]
    async with sessions() as s:
        chain = [e for e, _ in await chaining.entries(s)]
    assert [e.kind for e in chain] == ["invoice-out", "sdi-message", "pec-receipt", "manifest"]
    assert check_chain(chain) == []


async def test_archiving_twice_is_a_no_op(sessions: Sessions, worm: WormArchive) -> None:
    async with sessions() as s, s.begin():
        first = await archive_unit(s, worm, sample_unit(2), now=NOW)
    async with sessions() as s, s.begin():
        again = await archive_unit(s, worm, sample_unit(2), now=NOW)
    assert not again.created and again.manifest_sha256 == first.manifest_sha256
    async with sessions() as s:
        assert len(await chaining.entries(s)) == 4


async def test_late_evidence_and_links_make_new_manifest_revisions(
    sessions: Sessions, worm: WormArchive
) -> None:
    async with sessions() as s, s.begin():
        first = await archive_unit(s, worm, sample_unit(3, evidence=False), now=NOW)
        note = await archive_unit(
            s, worm,
            sample_unit(4, kind=DocumentKind.CREDIT_NOTE_OUT,
                        links=(LinkInput(LinkKind.CREDIT_NOTE_OF, first.identifier),)),
            now=NOW,
        )
    late = ItemInput("IT09876543210_00003_DT_001.xml", b"<DT/>", DocumentKind.SDI_MESSAGE,
                     "application/xml", "DT")
    async with sessions() as s, s.begin():
        second = await add_items(s, worm, first.identifier, [late], now=NOW)
        again = await add_items(s, worm, first.identifier, [late], now=NOW)  # redelivered
        await link(s, worm, first.identifier, LinkKind.NOTIFICATION_OF, "sdi:1000003", now=NOW)
    assert second.revision == 2 and not again.created
    async with sessions() as s:
        current = await get_unit(s, first.identifier)
        links = (await s.scalars(select(ArchiveLink.target).order_by(ArchiveLink.id))).all()
    assert current is not None and current.revision == 3
    manifest = read_manifest(await worm.get(current.manifest_sha256))
    assert manifest.revision == 3 and manifest.supersedes == second.manifest_sha256
    assert [i.filename for i in manifest.items][-1] == "IT09876543210_00003_DT_001.xml"
    assert b"sdi:1000003" in await worm.get(current.manifest_sha256)
    assert list(links) == [first.identifier, "sdi:1000003"]
    assert note.identifier in {u.identifier for u in [note]}
    async with sessions() as s:
        report = await verify_archive(s, worm)
    assert report.ok, report.problems


async def test_package_export_and_verify(
    sessions: Sessions, worm: WormArchive, tmp_path: Path,
    conservation_key: tuple[bytes, Pkcs12Signer],
) -> None:
    ca, signer = conservation_key
    async with sessions() as s, s.begin():
        for n in range(5):
            await archive_unit(s, worm, sample_unit(10 + n, date=dt.date(2025, 1, 10 + n)),
                               now=NOW)
    async with sessions() as s, s.begin():
        package = await build_package(s, worm, signer, AGENTS, now=NOW + dt.timedelta(days=1))
        assert await build_package(s, worm, signer, AGENTS, now=NOW) is None  # nothing left
    assert package is not None and package.units == 5 and package.files == 20
    signed = p7m.unwrap(await worm.get(package.signed_sha256))
    assert signed.content == await worm.get(package.index_sha256)
    assert p7m.verify(signed, TrustStore.from_bytes([ca])).ok
    index = read_index(signed.content)
    assert index.kind == "PdV" and index.chain_seq == 20 and len(index.files) == 20
    assert b"accepted" in await worm.get(package.report_sha256)

    async with sessions() as s:
        result = await export_distribution(
            s, worm, tmp_path / "pdd.zip", signer, AGENTS, now=NOW,
            date_from=dt.date(2025, 1, 11), date_to=dt.date(2025, 1, 12),
        )
        report = await verify_archive(s, worm, trust=TrustStore.from_bytes([ca]))
    assert report.ok, report.problems
    assert (report.units, report.packages, report.entries) == (5, 1, 23)
    assert result.units == 2
    with zipfile.ZipFile(io.BytesIO(result.path.read_bytes())) as zf:
        names = set(zf.namelist())
        pdd = p7m.unwrap(zf.read("index.xml.p7m"))
        assert pdd.content == zf.read("index.xml")
        files = read_index(pdd.content).files
        assert {f.path for f in files} | {"index.xml", "index.xml.p7m"} == names
        for f in files:  # every file in the zip is the archived bytes
            assert __import__("hashlib").sha256(zf.read(f.path)).hexdigest() == f.sha256
    assert p7m.verify(pdd, TrustStore.from_bytes([ca])).ok
    assert "units/out_IT09876543210_00011.xml/IT09876543210_00011.xml" in names
    assert any(n.startswith(f"packages/{package.key}/") for n in names)
    async with sessions() as s:
        packaged = (await s.scalars(select(ArchiveUnit.package_id))).all()
    assert set(packaged) == {1}
