"""Crash safety of sending invoices: `kill -9` the real daemon (real mode) at random moments
while it sends 200 invoices to a standalone sandbox, restart it; afterwards SdI received each
file exactly once and every invoice is delivered (issue 5, "How it is checked").

Exactly once, not at least once: a file the provider took just before a kill is not
submitted again at restart, because the provider's accettazione names its Message-ID and the
outbox records the item sent when it finds that receipt (`daemon.runners.outbox`). Without
that, each kill would resend the batch in flight and SdI would answer every copy with NS 00002.

Between the sandbox and pecora's LMTP port runs a store-and-forward relay
(`tests.support.lmtp_relay`), as an MTA or mailbox would in production: the sandbox itself drops
mail it cannot deliver while pecora is down, which would lose receipts and RCs for reasons that
have nothing to do with pecora.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from daemon import invoicing
from daemon.config import Settings, parse_settings
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import DeliveryAttempt, OutboxItem, OutboxState
from store.models_active import Invoice, InvoiceEvent, InvoiceState, InvoiceTransmission
from tests.support.invoicing import USER, customer, draft, seed_parties
from tests.support.lmtp_relay import LmtpRelay
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
N = 200
KILLS = 3
PASSWORD = "crash-sandbox-pw"


def _config(tmp_path: Path, lmtp_port: int, smtp_port: int) -> Path:
    path = tmp_path / "pecora.toml"
    path.write_text(
        f"""
[daemon]
data_dir = "{tmp_path / "data"}"
node_name = "crash-node"
grace_seconds = 5
[lmtp]
port = {lmtp_port}
[metrics]
enabled = false
[sandbox]
enabled = false  # real mode against the standalone sandbox
[inbox]
poll_seconds = 0.05
[outbox]
batch_size = 20
poll_seconds = 0.05
# Also the wait for a receipt about an item in flight at a crash (daemon.runners.outbox).
unavailable_retry_seconds = 3
[channels.pec]
kind = "pec"
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
username = "{USER}"
sender = "{USER}"
password = {{ env = "PECORA_T_SANDBOX_PW" }}
[invoicing]
sender = "{USER}"
"""
    )
    return path


def _settings(config: Path) -> Settings:
    return parse_settings(tomllib.loads(config.read_text()), source=str(config))


def _start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PECORA_T_SANDBOX_PW": PASSWORD}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _start_sandbox(
    state: Path, smtp_port: int, lmtp_port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PECORA_SANDBOX_PASSWORD": PASSWORD}
    with log.open("ab") as err:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daemon",
                "sandbox",
                "--state-dir",
                str(state),
                "--smtp-port",
                str(smtp_port),
                "--lmtp",
                f"127.0.0.1:{lmtp_port}",
                "--user",
                USER,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sdi_files(state: Path) -> list[str]:
    """Every file name SdI received, once per reception (its memory on disk)."""
    path = state / "sdi-state.json"
    if not path.exists():
        return []
    for _ in range(20):  # written by replace: a read may meet the rename, try again
        try:
            memory = json.loads(path.read_text())
            return [f["name"] for f in memory["files"].values()]
        except (json.JSONDecodeError, FileNotFoundError):
            time.sleep(0.01)
    raise AssertionError("sdi-state.json unreadable")


async def _seed(settings: Settings) -> None:
    """N FPR12 invoices to a 0000000 + PEC customer, each created and queued for sending."""
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)
    ctx = invoicing.SendContext(settings.invoicing, None, archive, USER)
    try:
        async with sessions() as s, s.begin():
            await seed_parties(s)
            key = await customer(s, "0000000", pec="amministrazione@pec.cliente.test")
        for _ in range(N // 20):  # 20 per transaction: seeding is not what is tested
            async with sessions() as s, s.begin():
                for _ in range(20):
                    invoice = await invoicing.create_invoice(
                        s, draft(key), cfg=settings.invoicing, now=utcnow()
                    )
                    await invoicing.send_invoice(s, invoice.id, ctx, now=utcnow())
    finally:
        await engine.dispose()


async def _store_counts(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings.database_url())
    try:
        async with session_factory(engine)() as s:
            rows = await s.execute(
                select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
            )
            out = {str(state): n for state, n in rows.all()}
            delivered = await s.scalar(
                select(func.count()).where(Invoice.state == InvoiceState.DELIVERED)
            )
            out["delivered"] = delivered or 0
            return out
    finally:
        await engine.dispose()


async def test_kill_9_during_batch_send_sends_each_invoice_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("PECORA_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    lmtp_port, smtp_port = free_port(), free_port()
    config = _config(tmp_path, lmtp_port, smtp_port)
    settings = _settings(config)
    state, log = tmp_path / "sandbox", tmp_path / "daemon.log"
    state.mkdir()
    # The daemon creates its schema on first start; seed after that, with nothing to send yet
    # going out (the sandbox is not up), then stop it.
    proc = _start_daemon(config, log)
    for _ in range(300):
        if _listening(lmtp_port):
            break
        assert proc.poll() is None, log.read_text()[-3000:]
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
    await _seed(settings)

    relay = LmtpRelay(lmtp_port)
    await relay.start()
    sandbox = _start_sandbox(state, smtp_port, relay.port, tmp_path / "sandbox.log")
    progress: list[tuple[int, dict[str, int]]] = []  # (files at SdI, outbox states) per kill
    started = time.monotonic()

    def context() -> str:
        return (
            f"seed={seed} progress={progress} relay={relay.accepted}/{relay.forwarded}; "
            f"daemon log tail:\n{log.read_text()[-3000:]}"
        )

    try:
        for _ in range(300):
            if (state / "ready").exists():
                break
            assert sandbox.poll() is None, (tmp_path / "sandbox.log").read_text()[-3000:]
            await asyncio.sleep(0.05)
        # Kill points spread over the whole batch: when SdI has this many files, plus a
        # random fraction of a second (mid-submission, mid-recording, mid-batch...).
        targets = sorted(rng.sample(range(5, N - 20), KILLS))
        for target in targets:
            proc = _start_daemon(config, log)
            deadline = time.monotonic() + 40
            while len(_sdi_files(state)) < target and time.monotonic() < deadline:
                assert proc.poll() is None, context()
                await asyncio.sleep(0.02)
            await asyncio.sleep(rng.uniform(0.0, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            progress.append((len(_sdi_files(state)), await _store_counts(settings)))
        proc = _start_daemon(config, log)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if (await _store_counts(settings))["delivered"] == N:
                    break
                assert proc.poll() is None, context()
                await asyncio.sleep(0.25)
            await asyncio.sleep(1.0)  # anything late (a duplicate's NS) would show up now
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, context()
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        await relay.close()
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=30)
    elapsed = time.monotonic() - started

    engine = create_engine(settings.database_url())
    try:
        async with session_factory(engine)() as s:
            invoices = list((await s.execute(select(Invoice))).scalars())
            files = list((await s.execute(select(InvoiceTransmission))).scalars())
            items = list((await s.execute(select(OutboxItem))).scalars())
            kinds = Counter(
                (
                    await s.execute(select(InvoiceEvent.kind).where(InvoiceEvent.source == "sdi"))
                ).scalars()
            )
            by_receipt = await s.scalar(
                select(func.count()).where(DeliveryAttempt.detail.like("not submitted again%"))
            )
    finally:
        await engine.dispose()
    ctx = f"{context()}\nsdi events={dict(kinds)} by_receipt={by_receipt} elapsed={elapsed:.0f}s"
    received = Counter(_sdi_files(state))
    ours = {f.file_name for f in files}
    assert len(invoices) == len(files) == len(items) == N, ctx  # one file per invoice
    # SdI's memory: each of our files received exactly once, and nothing else.
    assert set(received) == ours, ctx
    assert {name: n for name, n in received.items() if n != 1} == {}, ctx
    assert all(i.state is OutboxState.SENT for i in items), ctx
    # Every invoice delivered (none stuck), by one RC each; no NS at all (no duplicate).
    assert Counter(i.state for i in invoices) == {InvoiceState.DELIVERED: N}, ctx
    assert kinds["RC"] == N and kinds["NS"] == 0, ctx
    # The kills landed mid-send (else the test proves nothing) ...
    assert any(0 < sent < N for sent, _ in progress), ctx
    assert any(counts.get("sending", 0) for _, counts in progress), ctx
    print(
        f"seed={seed} kills={KILLS} progress={progress} by_receipt={by_receipt} "
        f"elapsed={elapsed:.0f}s"
    )
