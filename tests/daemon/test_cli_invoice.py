"""`pecora invoice` as a user runs it (a real process): address book, new --send, list, show,
a file SdI would reject stopped with its findings (exit 1), resend refused after acceptance."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from store import migrate
from store.db import create_engine

ROOT = Path(__file__).resolve().parents[2]

PARTIES = """
[parties.me]
role = "seller"
denominazione = "Pecora Servizi Srl"
id_paese = "IT"
id_codice = "01234567890"
regime_fiscale = "RF01"
indirizzo = "Via Roma 1"
cap = "00184"
comune = "Roma"
[parties.comune]
denominazione = "Comune di Prova"
codice_fiscale = "80012345678"
codice_destinatario = "UFF001"
indirizzo = "Piazza 1"
cap = "20121"
comune = "Milano"
"""
INVOICE = """
customer = "comune"
causale = ["Servizi di marzo"]
[[lines]]
description = "Consulenza"
quantity = "10"
unit_price = "80.00"
vat = "22"
"""


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon.cli_invoice", "-c", str(config),
                           "invoice", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def test_invoice_commands(tmp_path: Path) -> None:
    config = tmp_path / "pecora.toml"
    config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\n')
    (tmp_path / "data").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'pecora.db'}")
    asyncio.run(migrate.upgrade(engine))
    asyncio.run(engine.dispose())
    (tmp_path / "parties.toml").write_text(PARTIES)
    (tmp_path / "inv.toml").write_text(INVOICE)
    assert _cli(config, "parties", str(tmp_path / "parties.toml")).returncode == 0
    made = _cli(config, "new", str(tmp_path / "inv.toml"), "--send")
    assert made.returncode == 0, made.stderr
    assert "invoice 1 created" in made.stdout and "sdi01@pec.fatturapa.it" in made.stdout
    listed = json.loads(_cli(config, "list", "--json", "--pa").stdout)
    assert [(r["numero"], r["state"], r["total"]) for r in listed] == [("1", "queued", "976.00")]
    assert listed[0]["file"].endswith(".xml.p7m")  # FPA12: signed (CAdES)
    shown = json.loads(_cli(config, "show", "1", "--json").stdout)
    assert [e["kind"] for e in shown["events"]] == ["created", "queued"]
    (tmp_path / "bad.toml").write_text(INVOICE.replace('vat = "22"', 'vat = "0"\nnature = "N2"'))
    bad = _cli(config, "new", str(tmp_path / "bad.toml"))
    assert bad.returncode == 1 and "00445" in bad.stderr  # generic N2 is no longer allowed
    again = _cli(config, "send", "1")
    assert again.returncode == 1 and "nothing to send" in again.stderr
