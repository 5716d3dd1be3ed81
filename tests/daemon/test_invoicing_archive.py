"""Active invoicing into conservazione, end to end in the sandbox: each file pecora sends is an
archival unit in the WORM backend of ``[archive]`` with its PEC message, then SdI's
notifications and the provider's receipts as they come back; a credit note is linked to the
invoice it corrects; `verify_archive` passes afterwards (domain.md §6.3, issue 7 §1)."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.archive.active_units import identifier
from daemon.archive.settings import open_archive
from daemon.archive.units import get_unit
from daemon.archive.verify import verify_archive
from daemon.config import Settings
from daemon.config_invoicing import InvoicingSettings
from handlers.archive.manifest import read_manifest
from store import invoices
from store.archive import FilesystemArchive
from store.db import create_engine, session_factory
from store.models_active import InvoiceState
from store.models_archive import ArchiveLink, ArchiveParty, ArchiveUnit
from tests.conftest import reset_database
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.invoicing import create_and_send, customer, seed_parties
from tests.support.net import free_port

CFG = InvoicingSettings()
S = InvoiceState


def _settings(tmp_path: Path, db_url: str | None = None) -> Settings:
    return daemon_settings(
        tmp_path, db_url,
        sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": 86400})


async def test_sent_invoice_and_credit_note_are_units_with_evidence(
    tmp_path: Path, db_url: str
) -> None:
    """On SQLite and PostgreSQL (the chain lock and the unit rows differ per backend)."""
    await reset_database(db_url)
    settings = _settings(tmp_path, db_url)
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)
    worm = open_archive(settings, settings.archive)

    async def kinds_of(invoice_id: int) -> set[str]:
        async with sessions() as s:
            return {e.kind for e in await invoices.history(s, invoice_id)}

    async def unit_items(ident: str) -> set[str | None]:
        async with sessions() as s:
            unit = await get_unit(s, ident)
            return {i.subtype for i in unit.items} if unit else set()

    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                await seed_parties(s)
                key = await customer(s, "UFF001")  # PA: RC then NE EC01 (domain.md §3.3)
            invoice = await create_and_send(sessions, archive, CFG, key)
            async with sessions() as s:
                [tx] = await invoices.transmissions(s, invoice.id)
            ident = identifier(tx.file_name)
            await wait_for(lambda: _has(unit_items(ident), {"RC", "NE", "accettazione",
                                                            "avvenuta-consegna"}), timeout=40)
            await wait_for(lambda: _has(kinds_of(invoice.id), {"RC", "NE-EC01"}), timeout=40)
            note = await create_and_send(sessions, archive, CFG, key, tipo="TD04",
                                         corrects=invoice.numero)
            async with sessions() as s:
                [note_tx] = await invoices.transmissions(s, note.id)
            note_ident = identifier(note_tx.file_name)
            await wait_for(lambda: _has(unit_items(note_ident), {"RC"}), timeout=40)
        async with sessions() as s:
            [tx] = await invoices.transmissions(s, invoice.id)  # now with IdentificativoSdI
            unit = await get_unit(s, ident)
            note_unit = await get_unit(s, note_ident)
            assert unit is not None and note_unit is not None
            row = await s.scalar(select(ArchiveUnit).where(ArchiveUnit.identifier == ident))
            parties = list(await s.scalars(select(ArchiveParty).where(
                ArchiveParty.unit_id == unit.id).order_by(ArchiveParty.role)))
            links = {(lk.unit_id, lk.kind, lk.target)
                     for lk in await s.scalars(select(ArchiveLink))}
            report = await verify_archive(s, worm)
    finally:
        await engine.dispose()
    assert row is not None and row.kind == "invoice-out" and row.flow == "out"
    assert row.number == invoice.numero and row.doc_date == invoice.data
    assert tx.identificativo_sdi is not None and row.sdi_id == tx.identificativo_sdi
    # The file byte-identical as sent (FPA12: CAdES p7m), locked for the fiscal retention.
    [sent] = [i for i in unit.items if i.kind.value == "invoice-out"]
    assert sent.filename == tx.file_name and sent.sha256 == tx.sha256
    assert await archive.get(sent.sha256) == await worm.get(sent.sha256)
    assert await worm.retention(sent.sha256) == unit.retain_until
    kinds = {(i.kind.value, i.subtype) for i in unit.items}
    assert {("sdi-message", "RC"), ("sdi-message", "NE"), ("pec-envelope", "sent"),
            ("pec-receipt", "accettazione"), ("pec-receipt", "avvenuta-consegna")} <= kinds
    assert [(p.role, p.display_name, p.codice_fiscale, p.partita_iva) for p in parties] == [
        ("buyer", "Ufficio UFF001", "80012345678", None),
        ("seller", "Pecora Servizi Srl", None, "IT01234567890")]
    assert (unit.id, "notification-of", f"sdi:{tx.identificativo_sdi}") in links
    assert (note_unit.id, "credit-note-of", ident) in links
    manifest = await worm.get(note_unit.manifest_sha256)
    assert read_manifest(manifest).identifier == note_ident
    assert b'kind="credit-note-out"' in manifest and b"<Type>TD04</Type>" in manifest
    assert b'<Verification signed="true">valid</Verification>' in manifest
    assert f'<Link kind="credit-note-of">{ident}</Link>'.encode() in manifest
    assert report.ok, report.problems
    assert report.units == 2


async def _has(value: Awaitable[AbstractSet[object]], expected: set[str]) -> bool:
    return expected <= await value


async def test_redelivered_notification_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SdI's DOPPIO1 scenario delivers every message twice: still one unit, one RC item."""
    settings = _settings(tmp_path)
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)
    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                await seed_parties(s)
                key = await customer(s, "DOPPIO1")
            invoice = await create_and_send(sessions, archive, CFG, key)

            async def delivered() -> bool:
                async with sessions() as s:
                    found = await invoices.get(s, invoice.id)
                    return found is not None and found.state is S.DELIVERED

            await wait_for(delivered, timeout=40)
        async with sessions() as s:
            [tx] = await invoices.transmissions(s, invoice.id)
            units = list(await s.scalars(select(ArchiveUnit)))
            unit = await get_unit(s, identifier(tx.file_name))
            report = await verify_archive(s, open_archive(settings, settings.archive))
    finally:
        await engine.dispose()
    assert len(units) == 1 and unit is not None
    assert [i.subtype for i in unit.items].count("RC") == 1
    assert report.ok, report.problems
