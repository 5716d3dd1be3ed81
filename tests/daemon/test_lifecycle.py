"""`pecora run` as a real process: sd_notify READY/STOPPING, SIGTERM exits 0, metrics served;
and two daemons on one PostgreSQL share the inbox work."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.lmtp import deliver
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, lmtp: int, metrics: int) -> Path:
    path = tmp_path / "pecora.toml"
    path.write_text(
        f"""
[daemon]
data_dir = "{tmp_path / "data"}"
node_name = "proc-node"
grace_seconds = 5
[lmtp]
port = {lmtp}
[metrics]
port = {metrics}
[logging]
format = "json"
[sandbox]
smtp_port = {free_port()}
"""
    )
    return path


def _recv_until(sock: socket.socket, wanted: str, timeout: float) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if any(wanted in g for g in got):
            return got
    raise AssertionError(f"{wanted} not notified; got {got}")


def test_process_notifies_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    lmtp, metrics = free_port(), free_port()
    notify_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000"}
        env["WATCHDOG_PID"] = ""  # any pid: the child cannot know its pid in advance
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daemon",
                "--config",
                str(_config(tmp_path, lmtp, metrics)),
                "run",
            ],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _recv_until(notify, "READY=1", timeout=30)
            _recv_until(notify, "WATCHDOG=1", timeout=5)
            assert deliver(lmtp, b"From: a@b\r\nSubject: s\r\n\r\nbody\r\n", ["x@y"]) == [250]
            time.sleep(0.5)
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read()
            text = body.decode()
            assert 'pecora_received_total{source="lmtp"} 1' in text
            assert 'pecora_inbox_items{state="quarantined"} 1.0' in text
            assert "pecora_inbox_oldest_queued_age_seconds" in text
            proc.send_signal(signal.SIGTERM)
            _recv_until(notify, "STOPPING=1", timeout=10)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            stderr = proc.stderr.read() if proc.stderr else ""
    decisions = [line for line in stderr.splitlines() if '"pecora.decisions"' in line]
    assert len(decisions) == 1
    assert '"outcome": "quarantined"' in decisions[0]
    assert '"route": "unknown"' in decisions[0]


def test_bad_config_stops_startup_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[inbox]\nmax_claim = 3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(path), "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "inbox.max_claim: unknown key" in proc.stderr
    assert str(path) in proc.stderr


@pytest.mark.postgres
async def test_two_daemons_share_the_inbox(tmp_path: Path) -> None:
    from tests.conftest import PG_URL, reset_database

    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("PECORA_TEST_PG_URL not set under CI")
        pytest.skip("PECORA_TEST_PG_URL not set")
    await reset_database(PG_URL)
    a = daemon_settings(tmp_path / "a", PG_URL, daemon={"node_name": "node-a"})
    b = daemon_settings(
        tmp_path / "b",
        PG_URL,
        daemon={"node_name": "node-b", "data_dir": str(tmp_path / "a" / "data")},  # shared archive
    )
    engine = create_engine(PG_URL)
    sessions = session_factory(engine)
    try:
        async with running(a), running(b):
            for n in range(60):
                port = (a if n % 2 else b).lmtp.port
                raw = f"From: a@b\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()
                assert await asyncio.to_thread(deliver, port, raw, ["x@y"]) == [250]

            async def finished() -> bool:
                async with sessions() as s:
                    left = await s.scalar(
                        select(func.count()).where(InboxItem.state != InboxState.QUARANTINED)
                    )
                    return left == 0

            await wait_for(finished, timeout=30)
        async with sessions() as s:
            rows = (await s.execute(select(InboxItem.claim_count, InboxItem.processed_by))).all()
    finally:
        await engine.dispose()
    assert len(rows) == 60
    assert all(count == 1 for count, _ in rows)  # each processed exactly once
    assert {node for _, node in rows} == {"node-a", "node-b"}  # and the work was shared
