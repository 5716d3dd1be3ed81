"""Benchmark the IMAP ingress: initial sync throughput, peak RSS, and IDLE latency.

usage: .venv/bin/python bench/bench_imap_ingest.py [--messages 5000] [--batch-size 200]
                                                   [--appends 100] [--keep]

Starts a throw-away Dovecot on free loopback ports (tests/support/dovecot.py, which runs
scripts/services/start-dovecot.sh), fills one mailbox with PEC-shaped messages built from
../shared/ref/pec/*.eml (each made unique by its Message-ID), and runs one `ImapWatcher` on
SQLite in a temporary data directory. It prints:

- initial sync: messages/s from the watcher's start to the last committed inbox row;
- peak RSS of this process (the watcher, SQLite and the archive writer; Dovecot excluded);
- IDLE latency: from APPEND (on another connection) to the committed row, p50/p95/max.

Targets on 2 cores: >= 300 msg/s, p95 < 1 s, peak RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.config import MailboxSettings, SecretRef  # noqa: E402
from daemon.ingest import Ingestor  # noqa: E402
from daemon.ingress.imap import ImapWatcher  # noqa: E402
from store import migrate  # noqa: E402
from store.archive import FilesystemArchive  # noqa: E402
from store.db import create_engine, session_factory  # noqa: E402
from tests.support.dovecot import Dovecot, MailUser, free_port  # noqa: E402

REF = Path(os.environ.get("PECORA_REF_DIR", str(ROOT.parent / "shared" / "ref"))) / "pec"
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", re.I | re.M)


def pec_messages(count: int, tag: str) -> Iterator[bytes]:
    """``count`` distinct PEC-shaped messages: the reference files with a fresh Message-ID.

    A generator, so that building 5,000 messages (~200 MB) does not inflate the peak RSS
    this benchmark reports for the watcher.
    """
    templates = [p.read_bytes() for p in sorted(REF.glob("*.eml"))]
    if not templates:
        raise SystemExit(f"no reference messages in {REF}")
    for n in range(count):
        raw = templates[n % len(templates)]
        mid = f"Message-ID: <bench-{tag}-{n}@pec.example.test>".encode()
        raw, found = _MESSAGE_ID.subn(mid, raw, count=1)
        if not found:
            raw = mid + b"\r\n" + raw
        yield raw


def fill_maildir(server: Dovecot, user: MailUser, messages: Iterable[bytes]) -> None:
    """Write the messages straight into Maildir/cur, then let Dovecot index them once."""
    maildir = server.dir / "mail" / user.name / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for n, raw in enumerate(messages):
        (maildir / "cur" / f"{stamp}.M{n}P{os.getpid()}.bench,S={len(raw)}:2,").write_bytes(raw)
    for path in [maildir, *maildir.rglob("*")]:
        shutil.chown(path, "nobody", "nogroup")
    server.doveadm("force-resync", "-u", user.name, "INBOX")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


async def bench(args: argparse.Namespace, server: Dovecot, data_dir: Path) -> None:
    user = server.users[0]
    print(f"filling INBOX with {args.messages} PEC-shaped messages ...", flush=True)
    t0 = time.monotonic()
    fill_maildir(server, user, pec_messages(args.messages, "sync"))
    print(f"  filled in {time.monotonic() - t0:.1f} s")

    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'pecora.db'}")
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    wake = asyncio.Event()
    ingestor = Ingestor(sessions, FilesystemArchive(data_dir / "archive"), wake)
    os.environ["PECORA_BENCH_IMAP_PW"] = user.password
    settings = MailboxSettings(
        host="127.0.0.1",
        port=server.imap_port,
        security="plain",
        username=user.name,
        password=SecretRef(env="PECORA_BENCH_IMAP_PW"),
        batch_size=args.batch_size,
    )
    watcher = ImapWatcher("bench", settings, ingestor, sessions, "bench-node")
    stop = asyncio.Event()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    task = asyncio.create_task(watcher.run(stop))
    while ingestor.received < args.messages:
        if task.done():
            task.result()
            raise SystemExit("watcher ended early")
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    rate = args.messages / elapsed
    print(
        f"initial sync: {args.messages} messages in {elapsed:.2f} s = {rate:.0f} msg/s "
        f"(batch_size {args.batch_size}, {watcher.stats.batches} batches)"
    )

    while watcher.stats.idles < 1:  # noqa: ASYNC110 - a counter, not an event: caught up, IDLE
        await asyncio.sleep(0.01)
    latencies = []
    for raw in pec_messages(args.appends, "idle"):
        wake.clear()
        before = ingestor.received
        t = time.monotonic()
        await server.append(user, raw)
        while ingestor.received == before:
            await wake.wait()
            wake.clear()
        latencies.append(time.monotonic() - t)
    stop.set()
    await asyncio.wait_for(task, 10)
    await engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"IDLE latency APPEND -> committed row over {len(latencies)} appends: "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(
        f"peak RSS: {peak_kb / 1024:.0f} MB (before the watcher started: "
        f"{rss_before / 1024:.0f} MB)"
    )
    ok = rate >= 300 and percentile(latencies, 95) < 1.0 and peak_kb / 1024 < 250
    print("targets (>= 300 msg/s, p95 < 1 s, RSS < 250 MB):", "met" if ok else "MISSED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--appends", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs for a look")
    args = parser.parse_args()
    if not shutil.which("dovecot"):
        raise SystemExit("dovecot is not installed (apt-get install -y dovecot-imapd)")
    state = Path(tempfile.mkdtemp(prefix="pdb", dir="/tmp"))  # short: unix socket limit
    data_dir = Path(tempfile.mkdtemp(prefix="pecora-bench-"))
    server = Dovecot(state, free_port(), free_port(), free_port(), [MailUser("bench", "bench-pw")])
    server.start()
    try:
        asyncio.run(bench(args, server, data_dir))
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)
            (state.parent / f"{state.name}.start.log").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
