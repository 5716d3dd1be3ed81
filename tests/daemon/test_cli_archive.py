"""`pecora archive …` and `pecora backup …` end to end through `daemon.cli_archive.main`:
exit codes, JSON output, package, export, verify (clean and tampered), backup and restore."""

from __future__ import annotations

import asyncio
import json
import os
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from daemon import cli_archive
from daemon.archive.units import archive_unit
from handlers.formats.sandbox_pki import make_sandbox_pki
from store import migrate
from store.archive_worm import RetainedFilesystemArchive
from store.db import create_engine, session_factory
from tests.support.archive_data import NOW, sample_unit


def _config(tmp: Path, data: Path) -> Path:
    ca, signer = make_sandbox_pki("cli conservazione")
    p12 = pkcs12.serialize_key_and_certificates(
        b"cons", signer.key, signer.certificate, None, BestAvailableEncryption(b"pw"))
    (tmp / "key.p12").write_bytes(p12)
    (tmp / "ca.pem").write_bytes(ca)
    config = tmp / f"{data.name}.toml"
    config.write_text(
        f'[daemon]\ndata_dir = "{data}"\n\n[archive]\nresponsible = "Maria Conservatrice"\n'
        f'signing_key = "{tmp / "key.p12"}"\nsigning_password = {{ env = "ARCH_PW" }}\n'
        f'trust_anchors = ["{tmp / "ca.pem"}"]\nbackup_dir = "{tmp / "backups"}"\n'
    )
    return config


async def _populate(data: Path) -> None:
    data.mkdir(parents=True)
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'pecora.db'}")
    await migrate.upgrade(engine)
    worm = RetainedFilesystemArchive(data / "archive")
    async with session_factory(engine)() as s, s.begin():
        for n in range(3):
            await archive_unit(s, worm, sample_unit(n, buyer_cf="RSSMRA80A01H501U"), now=NOW)
    await engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli_archive.main(list(argv))
    return code, capsys.readouterr().out


def test_archive_and_backup_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCH_PW", "pw")
    data = tmp_path / "data"
    asyncio.run(_populate(data))
    cfg = str(_config(tmp_path, data))

    code, text = run(capsys, "--config", cfg, "archive", "search", "--name", "ROSS", "--json")
    assert code == 0 and len(json.loads(text)) == 3
    code, text = run(capsys, "--config", cfg, "archive", "search", "--cf", "rssmra80a01h501u",
                     "--from", "2025-01-01", "--to", "2025-12-31", "--json")
    assert code == 0 and json.loads(text)[0]["identifier"].startswith("out/")
    assert run(capsys, "--config", cfg, "archive", "search", "--vat", "11111111111")[0] == 1
    assert run(capsys, "--config", cfg, "archive", "search")[0] == 2

    code, text = run(capsys, "--config", cfg, "archive", "package", "--all", "--json")
    assert code == 0 and json.loads(text)[0]["units"] == 3
    zip_path = tmp_path / "pdd.zip"
    code, text = run(capsys, "--config", cfg, "archive", "export", "--from", "2025-01-01",
                     "--to", "2025-01-31", "--out", str(zip_path))
    assert code == 0 and "3 units" in text
    assert "index.xml.p7m" in zipfile.ZipFile(zip_path).namelist()
    code, text = run(capsys, "--config", cfg, "archive", "verify", "--json")
    assert code == 0 and json.loads(text)["packages"] == 1, text

    assert run(capsys, "--config", cfg, "backup", "now")[0] == 0
    code, text = run(capsys, "--config", cfg, "backup", "list", "--check", "--json")
    assert code == 0 and json.loads(text)[0]["intact"] is True

    # tamper: one byte of one archived file
    victim = next(p for p in (data / "archive").rglob("*") if p.is_file()
                  and ".retention" not in p.parts)
    os.chmod(victim, 0o644)
    victim.write_bytes(victim.read_bytes() + b" ")
    code, text = run(capsys, "--config", cfg, "archive", "verify", "--json")
    assert code == 1 and json.loads(text)["problems"][0]["code"] == "altered"

    # restore the backup into a new, empty data dir
    cfg2 = str(_config(tmp_path, tmp_path / "data2"))
    assert run(capsys, "--config", cfg2, "backup", "restore", "latest")[0] == 0
    code, text = run(capsys, "--config", cfg2, "archive", "search", "--name", "rossi", "--json")
    assert code == 0 and len(json.loads(text)) == 3
    assert run(capsys, "--config", cfg2, "backup", "restore", "latest")[0] == 1  # not empty


def test_export_without_a_key_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    asyncio.run(_populate(data))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[daemon]\ndata_dir = "{data}"\n')
    code = cli_archive.main(["--config", str(cfg), "archive", "export", "--from", "2025-01-01",
                             "--out", str(tmp_path / "x.zip")])
    assert code == 2
    assert "signing_key" in capsys.readouterr().err
