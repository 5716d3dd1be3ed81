"""`pecora demo` in a real process: the scripted tour against the embedded sandbox, and every
row of its ``--json`` summary asserted (issue 4 §4: "pecora demo runs in CI and its summary is
asserted")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from daemon.config import parse_settings
from daemon.sandbox_mode import SandboxRuntime, build_sandbox, observe_sandbox

ROOT = Path(__file__).resolve().parents[2]

# step -> what its observed outcome must mention
ROWS = {
    "invoice to a private customer": ("delivered; SdI: RC", "in the customer's box"),
    "invoice to a PA that accepts": ("accepted; SdI: RC, NE-EC01",),
    "invoice rejected by SdI": ("sdi-rejected; SdI: NS", "errors: 00404"),
    "invoice refused by the PA": ("refused; SdI: RC, NE-EC02", "CIG"),
    "invoice expired (no answer)": ("terms-expired; SdI: RC, DT",),
    "supplier invoice accepted": ("accepted: B2B",),
    "supplier invoice refused (PA)": ("EC02", "EC outbox: sent", "SdI: refused",
                                      "NE to the supplier: yes"),
    "campaign via pec": ("1 delivered",),
    "campaign via email": ("1 accepted", "SMTP sink holds 1"),
    "campaign via sms": ("1 delivered", "provider accepted 1"),
    "campaign via fax": ("1 delivered", "provider accepted 1"),
    "campaign via registered-mail": ("1 delivered", "letters confirmed 1"),
    "archive verified": ("intact",),
    # every file sent (the NS one too) and every supplier invoice, each with its evidence
    "issued invoices archived": ("5 units (flow out)",),
    "received invoices archived": ("2 units (flow in)",),
}


def _entry() -> list[str]:
    # `python -m daemon demo` once daemon/cli.py carries the command, the module until then.
    wired = "demo.add_parser" in (ROOT / "daemon" / "cli.py").read_text()
    return ["-m", "daemon", "demo"] if wired else ["-m", "daemon.demo"]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *_entry(), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, check=False)


def test_demo_summary(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    proc = _demo("--json", "--data-dir", str(kept))
    context = f"stderr:\n{proc.stderr[-4000:]}\nstdout:\n{proc.stdout[-4000:]}"
    assert proc.returncode == 0, context
    summary: dict[str, Any] = json.loads(proc.stdout)
    rows = {r["step"]: r for r in summary["steps"]}
    assert list(rows) == list(ROWS), context  # one row per step, in the tour's order
    for name, mentions in ROWS.items():
        row = rows[name]
        assert row["status"] == "ok", row
        assert row["expected"], row
        for text in mentions:
            assert text in row["observed"], row
    assert summary["ok"] is True
    assert summary["seconds"] < 60, "the tour is meant to take well under a minute"
    assert summary["data_dir"] == str(kept)
    assert (kept / "pecora.db").exists() and (kept / "albo-demo.csv").exists()
    assert "SANDBOX MODE" in proc.stderr  # the banner says nothing leaves the machine


def test_demo_refuses_a_used_data_dir(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    proc = _demo("--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "not empty" in proc.stderr


def test_observe_sandbox_sees_the_runtime_serve_builds(tmp_path: Path) -> None:
    settings = parse_settings({"daemon": {"data_dir": str(tmp_path)}}, source="<test>")
    seen: list[SandboxRuntime] = []
    with observe_sandbox(seen.append):
        runtime = build_sandbox(settings)
    build_sandbox(settings)  # outside the block: nobody is told
    assert seen == [runtime]


def test_demo_help() -> None:
    proc = _demo("--help")
    assert proc.returncode == 0 and "--days-per-second" in proc.stdout
