"""Two `pecora run` processes on one PostgreSQL watching one Dovecot mailbox: exactly one
watches it at a time, and when that one is killed the other takes the mailbox over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError

from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, Lease
from tests.support.dovecot import Dovecot, MailUser
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, node: str, pg_url: str, dovecot: Dovecot, user: MailUser) -> Path:
    path = tmp_path / f"{node}.toml"
    path.write_text(
        f"""
[daemon]
data_dir = "{tmp_path / "shared-data"}"
node_name = "{node}"
lease_seconds = 2
grace_seconds = 5
[database]
url = "{pg_url}"
[lmtp]
port = {free_port()}
[metrics]
enabled = false
[sandbox]
enabled = false  # real mode against the test Dovecot
[inbox]
poll_seconds = 0.1
[mailboxes.pec]
host = "127.0.0.1"
port = {dovecot.imap_port}
security = "plain"
username = "{user.name}"
password = {{ env = "PECORA_TEST_IMAP_PW" }}
poll_seconds = 1
backoff_max_seconds = 1
"""
    )
    return path


def _mail(n: int) -> bytes:
    return f"From: a@pec.test\r\nMessage-ID: <{n}@t>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()


async def _until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.2)


async def test_mailbox_is_handed_over_when_its_node_is_killed(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser
) -> None:
    from tests.conftest import PG_URL, reset_database

    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("PECORA_TEST_PG_URL not set under CI")
        pytest.skip("PECORA_TEST_PG_URL not set (run through scripts/test.sh)")
    await reset_database(PG_URL)
    env = {**os.environ, "PECORA_TEST_IMAP_PW": mail_user.password}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(node: str) -> None:
        procs[node] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daemon",
                "--config",
                str(_config(tmp_path, node, PG_URL, dovecot, mail_user)),
                "run",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    engine = create_engine(PG_URL)
    sessions = session_factory(engine)

    async def done_count() -> int:
        query = select(func.count()).where(InboxItem.state == InboxState.QUARANTINED)
        async with sessions() as s:
            try:
                return await s.scalar(query) or 0
            except ProgrammingError:  # the nodes have not migrated the empty database yet
                return 0

    async def holder() -> str | None:
        async with sessions() as s:
            return await s.scalar(select(Lease.holder).where(Lease.name == "imap:pec"))

    try:
        start("node-a")
        start("node-b")
        for n in range(20):
            await dovecot.append(mail_user, _mail(n))
        await _until(lambda: _eq(done_count, 20), 30)
        # both migrated the empty database at once and are running
        assert all(p.poll() is None for p in procs.values())
        first = await holder()
        assert first in procs
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(timeout=10)
        for n in range(20, 40):
            await dovecot.append(mail_user, _mail(n))
        await _until(lambda: _eq(done_count, 40), 30)  # the survivor took the mailbox over
        assert await holder() not in (None, first)
        start(first)  # back, as systemd would restart it: it must not take the mailbox back
        await asyncio.sleep(3)
        await dovecot.append(mail_user, _mail(40))
        await _until(lambda: _eq(done_count, 41), 30)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    async with sessions() as s:
        rows = (await s.execute(select(InboxItem.uid, InboxItem.claim_count))).all()
    await engine.dispose()
    assert sorted(uid for uid, _ in rows) == list(range(1, 42))  # all, none twice
    assert all(count == 1 for _, count in rows)


async def _eq(count: object, expected: int) -> bool:
    return await count() == expected  # type: ignore[operator, no-any-return]
