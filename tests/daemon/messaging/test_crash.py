"""Crash: `kill -9` the real daemon (with mass messaging) during a 2,000-recipient campaign on
e-mail, SMS and registered mail, three times, then let it finish. Every recipient ends with
exactly one accepted submission per channel at the fake providers (they take an idempotency
key); on SMTP only a message in flight at a kill may arrive twice, and the test says how many."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import trustme

from channels.fakes.providers import FakeRegisteredMail, FakeSms
from daemon.config_campaigns import CampaignSettings
from store import campaigns, migrate
from store.archive import FilesystemArchive
from store.campaign_reports import counts
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models_messaging import CampaignState
from tests.daemon.messaging.helpers import member_row, seed
from tests.support.net import free_port
from tests.support.smtp_sink import PASSWORD, USER, SmtpSink

ROOT = Path(__file__).resolve().parents[3]
N = 2000
SECRET = "crash-secret"
CHANNELS = ("email", "sms", "registered-mail")
pytestmark = pytest.mark.slow


def _entry() -> list[str]:
    # Once daemon/main.py starts the messaging tasks, the plain daemon is the one to kill.
    return ["-m", "daemon"]


def _config(tmp: Path, sink: int, ca: Path, sms: str, rol: str, hook: int) -> Path:
    path = tmp / "pecora.toml"
    path.write_text(f"""
[daemon]
data_dir = "{tmp / "data"}"
node_name = "crash-node"
grace_seconds = 5
[lmtp]
port = {free_port()}
[metrics]
enabled = false
[outbox]
poll_seconds = 0.05
batch_size = 50
[channels.mail]
kind = "smtp"
port = {sink}
security = "starttls"
username = "{USER}"
password = {{ env = "CRASH_SMTP_PW" }}
ca_file = "{ca}"
sender = "albo@ordine.test"
rate = {{ max_concurrency = 4 }}
[channels.sms]
kind = "sms"
base_url = "{sms}"
webhook_secret = {{ env = "CRASH_HOOK" }}
[channels.rol]
kind = "registered-mail"
base_url = "{rol}"
webhook_secret = {{ env = "CRASH_HOOK" }}
[campaigns]
page_size = 250
webhook_port = {hook}
report_poll_after_seconds = 5
report_poll_every_seconds = 1
""")
    return path


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRASH_SMTP_PW": PASSWORD, "CRASH_HOOK": SECRET}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, *_entry(), "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


async def test_kill_9_during_campaign(tmp_path: Path) -> None:
    seed_ = int(os.environ.get("PECORA_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed_)
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sink = SmtpSink(ca)
    await sink.start()
    hook = free_port()
    sms = FakeSms(webhook_secret=SECRET, callback_url=f"http://127.0.0.1:{hook}/webhooks/sms")
    rol = FakeRegisteredMail(
        webhook_secret=SECRET, callback_url=f"http://127.0.0.1:{hook}/webhooks/rol"
    )
    db = tmp_path / "data" / "pecora.db"
    (tmp_path / "data").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    await seed(sessions, [member_row(i) for i in range(N)])
    sha = await FilesystemArchive(tmp_path / "data" / "archive").put(b"%PDF-1.4\n%%EOF\n")
    cids = []
    async with sessions() as s, s.begin():
        for ch in CHANNELS:
            cid = await campaigns.create(
                s,
                campaigns.NewCampaign(
                    name=ch,
                    subject="Avviso",
                    body="Gentile {{ name }}",
                    channels=(ch,),
                    segment={},
                    sender="albo@ordine.test",
                    attachment_sha256=sha,
                    attachment_name="avviso.pdf",
                ),
                now=utcnow(),
            )
            await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
            cids.append(cid)
    async with sms.running() as sms_url, rol.running() as rol_url:
        config = _config(tmp_path, sink.port, ca_file, sms_url, rol_url, hook)
        assert CampaignSettings().page_size  # the section parses
        log = tmp_path / "daemon.log"
        progress = []

        def sent() -> tuple[int, int, int]:
            return (len(sink.handler.received), sms.accepted, rol.confirmed)

        for _ in range(3):
            before = sent()
            proc = _start(config, log)
            # Killed at a random moment soon after this run starts sending, so that the kill
            # lands mid-campaign however fast the machine sends (a fixed delay did not).
            started = time.monotonic()
            while sent() == before and proc.poll() is None and time.monotonic() - started < 60:
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
            progress.append(sent())
        proc = _start(config, log)
        try:
            deadline = time.monotonic() + 240
            final: list[dict[str, dict[str, int]]] = []
            while time.monotonic() < deadline:
                async with sessions() as s:
                    final = [await counts(s, cid) for cid in cids]
                want = [{"email": {"accepted": N}}, {"sms": {"delivered": N}}]
                want.append({"registered-mail": {"delivered": N}})
                if final == want:
                    break
                await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            rc = await asyncio.to_thread(proc.wait, 30)
            assert final == want, f"not finished within the deadline: {final}"
        finally:
            if proc.poll() is None:
                proc.kill()
    await engine.dispose()
    await sink.stop()
    per_rcpt = Counter(r.rcpt_tos[0] for r in sink.handler.received)
    repeated = {a: n for a, n in per_rcpt.items() if n > 1}
    context = (
        f"seed={seed_} progress(smtp,sms,rol)={progress} final={final} "
        f"smtp repeats={len(repeated)}; log tail:\n{log.read_text()[-3000:]}"
    )
    print(f"\ncrash: {context.split('; log')[0]}")
    assert rc == 0, context
    assert final == want, context
    assert len(per_rcpt) == N, context  # nobody skipped on SMTP ...
    assert len(repeated) <= 3 * 50, context  # ... at most the batches in flight repeated
    assert sms.accepted == N and rol.confirmed == N, context  # exactly one each
    assert {s.key for s in sms.by_key.values()} == {f"c{cids[1]}:m{i + 1}:sms" for i in range(N)}
    assert any(0 < p[1] < N for p in progress) or any(0 < p[0] < N for p in progress), context
