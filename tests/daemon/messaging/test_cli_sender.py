"""`pecora campaign create` without --sender: the channel's sender, the sandbox account in
sandbox mode, or a clear refusal (never a campaign whose every e-mail would fail)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CREATE = ("campaign", "create", "--name", "n", "--subject", "s", "--body", "b")


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon.cli_messaging", "--config", str(config),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _senders(data_dir: Path) -> list[str | None]:
    with contextlib.closing(sqlite3.connect(data_dir / "pecora.db")) as db:
        return [row[0] for row in db.execute("SELECT sender FROM campaign ORDER BY id")]


def test_default_sender(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox.toml"
    sandbox.write_text(f'[daemon]\ndata_dir = "{tmp_path / "a"}"\n')
    made = _run(sandbox, *CREATE, "--channel", "pec")
    assert made.returncode == 0, made.stderr
    assert _senders(tmp_path / "a") == ["fatture@pec.sandbox.test"]

    real = tmp_path / "real.toml"
    real.write_text(f'[daemon]\ndata_dir = "{tmp_path / "b"}"\n[sandbox]\nenabled = false\n'
                    '[channels.mail]\nkind = "memory"\n')
    refused = _run(real, *CREATE, "--channel", "email")
    assert refused.returncode == 2 and "--sender" in refused.stderr
    assert _run(real, *CREATE, "--channel", "sms").returncode == 0  # SMS needs no sender
    assert _senders(tmp_path / "b") == [None]

    named = tmp_path / "named.toml"
    named.write_text(f'[daemon]\ndata_dir = "{tmp_path / "c"}"\n[sandbox]\nenabled = false\n'
                     '[channels.mail]\nkind = "memory"\nsender = "albo@ordine.example.it"\n')
    assert _run(named, *CREATE, "--channel", "email").returncode == 0
    assert _senders(tmp_path / "c") == ["albo@ordine.example.it"]


def test_dry_run_reports_members_whose_message_cannot_be_built(tmp_path: Path) -> None:
    """Registered mail without the campaign's PDF: failed, with why, and exit 1."""
    config = tmp_path / "pecora.toml"
    config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "d"}"\n')
    albo = tmp_path / "albo.csv"
    albo.write_text("member_id;name;street;cap;city;province\n"
                    "P1;Pia Neri;Via Appia 12;00179;Roma;RM\n")
    assert _run(config, "albo", "import", str(albo)).returncode == 0
    assert _run(config, *CREATE, "--channel", "registered-mail").returncode == 0
    dry = _run(config, "campaign", "preview", "1", "--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["counts"] == {"queued": 0, "suppressed": 0, "failed": 1, "not in segment": 0}
    assert "PDF" in plan["problems"][0]["why"]
