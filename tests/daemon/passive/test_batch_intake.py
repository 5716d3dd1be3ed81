"""A batch of SdI deliveries applied together (the passive batch applier) gives exactly what
applying them one by one gives: duplicates in the batch and of stored files, units, chain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon import apply
from daemon.archive.conservation import conservation_of
from daemon.archive.verify import verify_archive
from daemon.config import InboxSettings
from daemon.config_passive import PassiveSettings, passive_facts
from daemon.ingest import Ingestor
from daemon.metrics import Metrics
from daemon.runners.inbox import InboxRunner
from handlers.formats.pec_build import PecProvider
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.passive.intake import StoreReceivedFile
from store.archive import FilesystemArchive
from store.models import InboxItem, InboxState
from store.models_archive import ArchiveUnit
from store.models_passive import ReceivedDelivery, ReceivedFile, ReceivedInvoice
from tests.support.sdi_envelopes import envelopes

USER = "fatture@pec.batch.test"
Sessions = async_sessionmaker[AsyncSession]

_SOGEI_CA, _SOGEI_SIGNER = make_sandbox_pki("Sogei (batch test)")
SUPPLIER_CA, SUPPLIER_SIGNER = make_sandbox_pki("Fornitore (batch test)")
SOGEI = PecProvider("Sogei (batch test)", "pcert.sogei.batch.test", _SOGEI_SIGNER)


def _runner(sessions: Sessions, archive: FilesystemArchive, batch: int) -> InboxRunner:
    return InboxRunner(sessions, archive, InboxSettings(batch_size=batch), worker="t",
                       wake=asyncio.Event(), metrics=Metrics(),
                       facts=passive_facts(PassiveSettings(), extra_anchors=(SUPPLIER_CA,)))


async def _deliver(sessions: Sessions, archive: FilesystemArchive, raws: list[bytes]) -> None:
    ingestor = Ingestor(sessions, archive, asyncio.Event())
    for raw in raws:
        await ingestor.ingest(raw, source="lmtp")


async def _count(s: AsyncSession, model: type, *where: object) -> int:
    return int((await s.execute(select(func.count()).select_from(model).where(*where)))
               .scalar_one())


@pytest.mark.parametrize("batch_applier", [True, False], ids=["together", "one-by-one"])
async def test_batch_with_duplicates_matches_one_by_one(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_applier: bool
) -> None:
    if not batch_applier:
        monkeypatch.delitem(apply.BATCH_APPLIERS, StoreReceivedFile)
    archive = FilesystemArchive(tmp_path / "archive")
    # Invoice 0 is stored before the batch; the batch then brings it again, five new ones,
    # and a second delivery of invoice 2 (another PEC envelope of the same SdI message).
    await _deliver(sessions, archive, list(envelopes(1, SUPPLIER_SIGNER, SOGEI, user=USER)))
    assert await _runner(sessions, archive, 1).drain() == 1
    batch = [*envelopes(6, SUPPLIER_SIGNER, SOGEI, user=USER, delivery=".again"),
             *envelopes(1, SUPPLIER_SIGNER, SOGEI, user=USER, start=2, delivery=".third")]
    await _deliver(sessions, archive, batch)
    assert await _runner(sessions, archive, 50).run_once() == 7

    async with sessions() as s:
        assert await _count(s, InboxItem, InboxItem.state != InboxState.DONE) == 0
        assert await _count(s, ReceivedFile) == 6
        assert await _count(s, ReceivedInvoice) == 6
        assert await _count(s, ArchiveUnit) == 6
        deliveries = (await s.scalars(select(ReceivedDelivery).order_by(ReceivedDelivery.id)))
        dups = [d.duplicate for d in deliveries.all()]
        assert len(dups) == 8
        assert dups.count(None) == 6
        assert all("same IdentificativoSdI" in d for d in dups if d is not None)
        report = await verify_archive(s, conservation_of(archive))
    assert report.ok, report.problems
    assert report.units == 6


async def test_a_failing_batch_is_applied_one_by_one(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> list[bool]:
        raise RuntimeError("bug in the batch applier")

    monkeypatch.setitem(apply.BATCH_APPLIERS, StoreReceivedFile, broken)
    archive = FilesystemArchive(tmp_path / "archive")
    await _deliver(sessions, archive, list(envelopes(3, SUPPLIER_SIGNER, SOGEI, user=USER)))
    assert await _runner(sessions, archive, 10).run_once() == 3
    async with sessions() as s:
        assert await _count(s, InboxItem, InboxItem.state == InboxState.DONE) == 3
        assert await _count(s, ReceivedInvoice) == 3
        assert await _count(s, ArchiveUnit) == 3
