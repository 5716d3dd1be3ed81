"""Crash safety: `kill -9` the real daemon at random moments while it ingests 500 messages
from Dovecot, restart it; afterwards every message was processed exactly once."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, inspect, select

from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, PecReceipt
from tests.support.dovecot import Dovecot, MailUser
from tests.support.net import free_port
from tests.support.ref import ref_bytes

ROOT = Path(__file__).resolve().parents[2]
N = 500


def _messages() -> list[bytes]:
    """500 distinct PEC receipts, made from the real Aruba ones (new Message-ID each)."""
    templates = [
        ref_bytes("pec", "accettazione_IT03339130126_00009.eml"),
        ref_bytes("pec", "avvenuta-consegna_IT03339130126_00009.eml"),
    ]
    out = []
    for n in range(N):
        raw = templates[n % 2]
        out.append(
            re.sub(
                rb"(?m)^Message-ID: <[^>]*>", b"Message-ID: <crash-%d@pec.test>" % n, raw, count=1
            )
        )
    return out


def _config(tmp_path: Path, dovecot: Dovecot, user: MailUser) -> Path:
    path = tmp_path / "pecora.toml"
    path.write_text(
        f"""
[daemon]
data_dir = "{tmp_path / "data"}"
node_name = "crash-node"
grace_seconds = 5
[lmtp]
port = {free_port()}
[metrics]
enabled = false
[sandbox]
enabled = false  # real mode against the test Dovecot
[inbox]
batch_size = 10
poll_seconds = 0.1
[mailboxes.pec]
host = "127.0.0.1"
port = {dovecot.imap_port}
security = "plain"
username = "{user.name}"
password = {{ env = "PECORA_TEST_IMAP_PW" }}
processed_folder = "processed"
batch_size = 50
poll_seconds = 1
backoff_max_seconds = 1
"""
    )
    return path


def _start(config: Path, user: MailUser, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PECORA_TEST_IMAP_PW": user.password}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


async def _counts(db: Path) -> tuple[int, int, int]:
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with session_factory(engine)() as s:
            if not await s.run_sync(lambda sync: inspect(sync.bind).has_table("inbox_item")):
                return 0, 0, 0  # killed before its first migration committed
            items = await s.scalar(select(func.count()).select_from(InboxItem))
            done = await s.scalar(select(func.count()).where(InboxItem.state == InboxState.DONE))
            receipts = await s.scalar(select(func.count()).select_from(PecReceipt))
            return items or 0, done or 0, receipts or 0
    finally:
        await engine.dispose()


async def test_kill_9_during_ingest_loses_and_duplicates_nothing(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser
) -> None:
    seed = int(os.environ.get("PECORA_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    for raw in _messages():
        dovecot.drop_into_maildir(mail_user, raw)
    config = _config(tmp_path, dovecot, mail_user)
    log = tmp_path / "daemon.log"
    db = tmp_path / "data" / "pecora.db"
    kills = 0
    progress: list[tuple[int, int, int]] = []  # (items, done, receipts) after each kill
    # Four crashes at random points of the work, measured as rows ingested + rows done
    # (0 .. 2N), so every kill lands mid-ingest or mid-processing however fast the run is.
    targets = sorted(rng.uniform(0.05, 1.9) * N for _ in range(4))
    for target in targets:
        proc = _start(config, mail_user, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            items, done, _ = await _counts(db) if db.exists() else (0, 0, 0)
            if items + done >= target:
                break
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kills += 1
        progress.append(await _counts(db) if db.exists() else (0, 0, 0))
    ready_before = log.read_text().count("pecora ready")
    proc = _start(config, mail_user, log)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = log.read_text().count("pecora ready") > ready_before
            if started and db.exists() and (await _counts(db))[1] == N:
                break  # (SIGTERM before the daemon is up would only test the default action)
            await asyncio.sleep(0.25)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    items, done, receipts = await _counts(db)
    context = f"seed={seed} kills={kills} progress={progress}; log tail:\n{log.read_text()[-3000:]}"
    assert items == N, context  # no loss, no duplicate inbox rows
    assert done == N, context  # every one processed
    assert receipts == N, context  # and its effect applied exactly once
    assert dovecot.count(mail_user, "INBOX") == 0, context  # all acknowledged upstream
    assert dovecot.count(mail_user, "processed") == N, context
    # the kills did land mid-work, not before or after it (else the test proves nothing)
    assert any(0 < done < N for _, done, _ in progress) or any(0 < i < N for i, _, _ in progress), (
        context
    )
