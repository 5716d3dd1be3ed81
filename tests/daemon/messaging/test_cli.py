"""`pecora albo` and `pecora campaign` as subprocesses: import report, idempotent re-import,
create, dry run, send, status JSON and the per-recipient CSV report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CSV = """member_id;name;email;pec;mobile;street;cap;city;province;tags;opt_out;titolo
A1;Ada Rossi;ada@mail.test;ada@pec.test;+39 333 1234567;Via Roma 1;00100;Roma;RM;iscritti;;Avv.
A2;Bruno Verdi;bruno@mail.test;;3471234567;Via Po 2;10100;Torino;TO;iscritti;email;Dott.
A3;Carla Neri;not-an-address;;;;;;;iscritti;;
A4;Dario Bianchi;dario@mail.test;;;Via Po 2;1010;Torino;TO;iscritti;;
"""


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp / "pecora.toml"
    if not config.exists():
        config.write_text(
            f'[daemon]\ndata_dir = "{tmp / "data"}"\n[channels.mail]\nkind = "memory"\n'
            "[campaigns]\npage_size = 10\n"
        )
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli_messaging", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_albo_and_campaign_commands(tmp_path: Path) -> None:
    src = tmp_path / "albo.csv"
    src.write_text(CSV)
    first = _run(tmp_path, "albo", "import", str(src), "--json")
    assert first.returncode == 1, first.stderr  # two rows rejected
    report = json.loads(first.stdout)
    assert (report["created"], report["updated"]) == (2, 0)
    reasons = {r["member_id"]: r["reason"] for r in report["rejected"]}
    assert "one @" in reasons["A3"] and "CAP" in reasons["A4"]
    again = json.loads(_run(tmp_path, "albo", "import", str(src), "--json").stdout)
    assert (again["created"], again["unchanged"]) == (0, 2)  # idempotent by member id
    listed = json.loads(_run(tmp_path, "albo", "list", "--json").stdout)
    assert [m["member_id"] for m in listed] == ["A1", "A2"]
    shown = json.loads(_run(tmp_path, "albo", "show", "A2", "--json").stdout)
    assert shown["mobile"] == "+393471234567" and shown["opted_out"] == "email"

    created = _run(
        tmp_path,
        "campaign",
        "create",
        "--name",
        "quote",
        "--subject",
        "Quota {{ titolo }}",
        "--body",
        "Gentile {{ titolo }} {{ name }}",
        "--channel",
        "email",
        "--sender",
        "albo@ordine.test",
    )
    assert created.returncode == 0, created.stderr
    dry = _run(tmp_path, "campaign", "preview", "quote", "--dry-run", "--json")
    assert dry.returncode == 1  # A2 opted out of e-mail: reported, not sent
    plan = json.loads(dry.stdout)
    assert plan["counts"] == {"queued": 1, "suppressed": 1, "failed": 0, "not in segment": 0}
    assert plan["problems"][0]["member_id"] == "A2"
    bad = _run(
        tmp_path,
        "campaign",
        "create",
        "--name",
        "x",
        "--subject",
        "{% if %}",
        "--body",
        "",
        "--channel",
        "email",
    )
    assert bad.returncode == 2 and "subject" in bad.stderr
    assert _run(tmp_path, "campaign", "send", "quote").returncode == 0
    assert _run(tmp_path, "campaign", "pause", "quote").returncode == 0
    assert _run(tmp_path, "campaign", "pause", "quote").returncode == 1  # already paused
    assert _run(tmp_path, "campaign", "resume", "quote").returncode == 0
    status = json.loads(_run(tmp_path, "campaign", "status", "quote", "--json").stdout)
    assert status[0]["state"] == "running" and status[0]["channels"] == {}  # nothing fanned out
    out = tmp_path / "report.csv"
    assert _run(tmp_path, "campaign", "status", "quote", "--report", str(out)).returncode == 0
    assert out.read_text().splitlines()[0].split(",")[:3] == ["member_id", "name", "channel"]
    assert _run(tmp_path, "campaign", "cancel", "quote").returncode == 0
