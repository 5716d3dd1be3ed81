"""`pecora schemas install|show`, and the installed official XSD at work: sending is stopped
by what it refuses, `pecora inspect` reports its findings (daemon.schemas, issue 3 §2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon import cli, schemas
from daemon.config_invoicing import InvoicingSettings
from daemon.invoicing import WouldBeRejected
from handlers.formats.fatturapa.official_xsd import SCHEMA_FILE, XMLDSIG_FILE
from store.archive import FilesystemArchive
from store.models import OutboxItem
from tests.support.invoicing import create_and_send, customer, seed_parties
from tests.support.ref import ref_bytes, ref_path


def _source(tmp_path: Path, *, descrizione_max: int | None = None) -> Path:
    """A download directory with the official files (optionally a tightened copy)."""
    src = tmp_path / "download"
    src.mkdir(parents=True, exist_ok=True)
    xsd = ref_bytes("xsd", SCHEMA_FILE)
    if descrizione_max is not None:  # a schema stricter than ours: only the XSD refuses
        xsd = xsd.replace(b"[\\p{IsBasicLatin}\\p{IsLatin-1Supplement}]{1,1000}",
                          b"[\\p{IsBasicLatin}\\p{IsLatin-1Supplement}]{1,%d}" % descrizione_max)
    (src / SCHEMA_FILE).write_bytes(xsd)
    (src / XMLDSIG_FILE).write_bytes(ref_bytes("xsd", XMLDSIG_FILE))
    return src


def test_install_show_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert cli.main(["schemas", "show", "--json", "--data-dir", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["installed"] is False
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["schemas", "install", str(empty), "--data-dir", str(data)]) == 1
    assert "missing" in capsys.readouterr().err
    broken = _source(tmp_path)
    (broken / SCHEMA_FILE).write_bytes(b"<xs:schema")
    assert cli.main(["schemas", "install", str(broken), "--data-dir", str(data)]) == 1
    assert not schemas.installed(data) and schemas.load(data) is None  # nothing half-done
    good = _source(tmp_path)
    assert cli.main(["schemas", "install", str(good), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert cli.main(["schemas", "show", "--json", "--data-dir", str(data)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["installed"] is True and set(shown["sha256"]) == {SCHEMA_FILE, XMLDSIG_FILE}
    assert schemas.load(data) is not None


def test_inspect_reports_the_official_findings(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    invoice = ref_path("invoices", "IT01234567890_FPR01.xml")
    assert cli.main(["inspect", "--json", "--xsd", str(_source(tmp_path)), str(invoice)]) == 0
    capsys.readouterr()
    strict = _source(tmp_path / "strict", descrizione_max=3)
    assert cli.main(["inspect", "--json", "--xsd", str(strict), str(invoice)]) == 1
    issues = json.loads(capsys.readouterr().out)["files"][0]["issues"]
    assert any("official XSD" in i["message"] and "Descrizione" in i["where"]
               for i in issues), issues
    missing = tmp_path / "nowhere"
    assert cli.main(["inspect", "--xsd", str(missing), str(invoice)]) == 2


async def test_send_is_stopped_by_what_the_official_schema_refuses(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive,
) -> None:
    cfg = InvoicingSettings()
    async with sessions() as s, s.begin():
        await seed_parties(s)
        key = await customer(s, "ABC1234")
    data = tmp_path / "data"
    schemas.install(_source(tmp_path), data)
    sent = await create_and_send(sessions, archive, cfg, key, official=schemas.load(data))
    assert sent.state.value == "queued"
    strict = tmp_path / "strict"
    schemas.install(_source(tmp_path / "s", descrizione_max=3), strict)
    with pytest.raises(WouldBeRejected) as caught:
        await create_and_send(sessions, archive, cfg, key, official=schemas.load(strict))
    assert any("official XSD" in f.message_en for f in caught.value.findings)
    async with sessions() as s:  # only the first invoice's file was queued
        assert await s.scalar(select(func.count()).select_from(OutboxItem)) == 1
