"""Passive invoicing into conservazione, end to end over real sockets: each received invoice body
is an archival unit in the WORM backend with the file byte-identical as received, the MT and
the PEC envelope; our EC (with the provider's receipts) and SdI's SE/DT are added later; a
redelivered file creates nothing more; `verify_archive` passes (domain.md §6.3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.archive.passive_units import identifier
from daemon.archive.settings import open_archive
from daemon.archive.units import get_unit
from daemon.archive.verify import verify_archive
from store import passive
from store.archive_worm import WormArchive
from store.clock import utcnow
from store.models_archive import ArchiveLink, ArchiveParty, ArchiveUnit
from tests.conftest import reset_database
from tests.daemon.passive.harness import POLICY, Passive, passive_world
from tests.handlers.formats.fatturapa import factory
from tests.support.daemon import wait_for

PA_OFFICE = "UFX001"  # not a scenario code: SdI just delivers and waits for our EC


def _worm(tmp_path: Path) -> WormArchive:
    from tests.support.daemon import daemon_settings

    settings = daemon_settings(tmp_path)  # same data dir as the harness's daemon
    return open_archive(settings, settings.archive)


async def _subtypes(w: Passive, ident: str) -> set[str | None]:
    async with w.sessions() as s:
        unit = await get_unit(s, ident)
    return {i.subtype for i in unit.items} if unit else set()


async def test_pa_invoice_is_a_unit_and_our_ec_joins_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """On SQLite and PostgreSQL."""
    await reset_database(db_url)
    async with passive_world(tmp_path, monkeypatch, database={"url": db_url}) as w:
        sent = await w.world.supplier.deliver(
            factory.invoice(formato="FPA12", codice=PA_OFFICE), signed=True)
        await w.settled(1)
        [inv] = await w.invoices()
        [file] = await w.files()
        ident = identifier(file.file_name, 1)
        async with w.sessions() as s, s.begin():
            result = await passive.accept(s, inv.id, actor="anna", now=utcnow(), policy=POLICY)
        assert result.ec_file_name is not None

        async def ec_archived() -> bool:
            return {"EC", "EC-sent", "accettazione", "avvenuta-consegna"} <= await _subtypes(
                w, ident)

        await wait_for(ec_archived, timeout=20)
        worm = _worm(tmp_path)
        async with w.sessions() as s:
            unit = await get_unit(s, ident)
            assert unit is not None
            row = await s.scalar(select(ArchiveUnit).where(ArchiveUnit.identifier == ident))
            parties = list(await s.scalars(select(ArchiveParty).where(
                ArchiveParty.unit_id == unit.id).order_by(ArchiveParty.role)))
            links = [(lk.kind, lk.target) for lk in await s.scalars(
                select(ArchiveLink).where(ArchiveLink.unit_id == unit.id))]
            report = await verify_archive(s, worm)
    assert row is not None and (row.kind, row.flow, row.sdi_id) == (
        "invoice-in", "in", sent.identificativo_sdi)
    assert (row.number, row.doc_date) == (inv.numero, inv.data)
    by_kind = {(i.kind.value, i.subtype): i for i in unit.items}
    received = by_kind[("invoice-in", None)]
    assert received.filename == file.file_name and received.sha256 == file.file_sha256
    assert by_kind[("sdi-message", "MT")].sha256 == file.mt_sha256
    assert ("pec-envelope", "posta-certificata") in by_kind
    ec = by_kind[("sdi-message", "EC")]
    assert ec.filename == result.ec_file_name and b"EC01" in await worm.get(ec.sha256)
    assert await worm.retention(received.sha256) == unit.retain_until
    assert {p.role for p in parties} >= {"seller", "buyer"}
    assert all(p.display_name for p in parties)
    assert ("notification-of", f"sdi:{sent.identificativo_sdi}") in links
    manifest = await worm.get(unit.manifest_sha256)
    # The supplier's CA is not a trust anchor here: intact but untrusted, as the intake said.
    assert b'<Verification signed="true">invalid:untrusted' in manifest
    assert report.ok, report.problems


async def test_lot_is_one_unit_per_body_and_redelivery_adds_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        lot = factory.invoice(*(factory.body(numero=str(n)) for n in (1, 2)))
        await w.deliver(lot, times=2)  # SdI delivers the same file twice
        await w.settled(2)
        [file] = await w.files()
        async with w.sessions() as s:
            rows = list(await s.scalars(select(ArchiveUnit).order_by(ArchiveUnit.identifier)))
            units = [await get_unit(s, r.identifier) for r in rows]
            report = await verify_archive(s, _worm(tmp_path))
    assert [(r.identifier, r.number) for r in rows] == [
        (identifier(file.file_name, 1), "1"), (identifier(file.file_name, 2), "2")]
    for unit in units:
        assert unit is not None and unit.revision == 1
        # the whole lot in each unit (one signature, one Hash), stored once
        assert [i.sha256 for i in unit.items if i.kind.value == "invoice-in"] == [
            file.file_sha256]
        assert {i.subtype for i in unit.items} == {None, "MT", "posta-certificata"}
    assert report.ok and report.units == 2, report.problems


async def test_dt_joins_the_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 15 simulated days pass in ~6 s with no EC from us: SdI's DT closes the window (§3.3).
    async with passive_world(tmp_path, monkeypatch, clock_factor=216_000) as w:
        await w.world.supplier.deliver(factory.invoice(formato="FPA12", codice=PA_OFFICE))
        await w.settled(1)
        [file] = await w.files()
        ident = identifier(file.file_name, 1)

        async def dt_archived() -> bool:
            return "DT" in await _subtypes(w, ident)

        await wait_for(dt_archived, timeout=30)
        async with w.sessions() as s:
            report = await verify_archive(s, _worm(tmp_path))
    assert report.ok, report.problems
