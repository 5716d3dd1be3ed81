"""Benchmark the passive intake: SdI envelopes with p7m invoices, from Dovecot to stored invoices.

usage: .venv/bin/python bench/bench_passive_intake.py [--envelopes 2000] [--runners 1] [--keep]
       [--batch-size 20] [--db-url postgresql+asyncpg://USER:PW@HOST:PORT/THROWAWAY_DB]
       [--reuse DIR]

Builds ``--envelopes`` real-shaped SdI deliveries (a FatturaPA invoice signed CAdES-BES as
``.xml.p7m`` + its MT with the Hash, in SdI's mail, wrapped in a signed PEC transport envelope
by a sandbox provider: pecora's own builders), writes them into a throw-away Dovecot mailbox
(tests/support/dovecot.py, as bench_imap_ingest.py does), then runs one `ImapWatcher` and the
inbox runner(s) with the passive facts (the supplier CA as trust anchor, so every signature is
fully verified) on SQLite in a temporary data directory (or the PostgreSQL of ``--db-url``),
until every invoice is stored and its file, MT and envelope are in the archive. It prints
invoices/s (IMAP sync + intake, and the intake alone) and the peak RSS of this process (Dovecot
excluded). ``--reuse DIR`` keeps the built envelopes and the supplier CA in DIR and uses them
again on the next run with the same ``--envelopes`` (building them takes longer than the run).

Target on 2 cores: >= 150 invoices/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_imap_ingest import fill_maildir  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from daemon.config import InboxSettings, MailboxSettings, SecretRef  # noqa: E402
from daemon.config_passive import PassiveSettings, passive_facts  # noqa: E402
from daemon.ingest import Ingestor  # noqa: E402
from daemon.ingress.imap import ImapWatcher  # noqa: E402
from daemon.metrics import Metrics  # noqa: E402
from daemon.runners.inbox import InboxRunner  # noqa: E402
from daemon.services import decider  # noqa: E402
from handlers.formats.pec_build import PecProvider  # noqa: E402
from handlers.formats.sandbox_pki import make_sandbox_pki  # noqa: E402
from store import migrate  # noqa: E402
from store.archive import FilesystemArchive  # noqa: E402
from store.db import create_engine, session_factory  # noqa: E402
from store.models import InboxItem, InboxState  # noqa: E402
from store.models_passive import ReceivedInvoice  # noqa: E402
from tests.support.dovecot import Dovecot, MailUser, free_port  # noqa: E402
from tests.support.sdi_envelopes import envelopes  # noqa: E402

USER = "fatture@pec.bench.test"


def worker_peaks() -> list[int]:
    """Peak RSS (kB) of this process's multiprocessing children: the decide workers."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if (int(fields.get("PPid", "0")) == os.getpid() and b"spawn_main" in cmdline
                and "VmHWM" in fields):
            peaks.append(int(fields["VmHWM"].split()[0]))
    return peaks


async def count(sessions: object, model: type) -> int:
    async with sessions() as s:  # type: ignore[operator]
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def deliveries(count: int, reuse: Path | None) -> tuple[bytes, Iterable[bytes]]:
    """The supplier CA and ``count`` envelopes: built afresh, or read from ``reuse``."""
    cached = reuse / f"{count}" if reuse else None
    if cached is not None and (cached / "ca.pem").exists():
        files = sorted(cached.glob("*.eml"))
        return (cached / "ca.pem").read_bytes(), (f.read_bytes() for f in files)
    _sogei_ca, sogei_signer = make_sandbox_pki("Sogei (bench)")
    supplier_ca, supplier_signer = make_sandbox_pki("Fornitore (bench)")
    sogei = PecProvider("Sogei (bench)", "pcert.sogei.bench.test", sogei_signer)
    built = envelopes(count, supplier_signer, sogei, user=USER)
    if cached is None:
        return supplier_ca, built
    cached.mkdir(parents=True, exist_ok=True)

    def keep() -> Iterator[bytes]:
        for n, raw in enumerate(built):
            (cached / f"{n:06d}.eml").write_bytes(raw)
            yield raw
        (cached / "ca.pem").write_bytes(supplier_ca)  # last: marks the set complete

    return supplier_ca, keep()


async def bench(args: argparse.Namespace, server: Dovecot, data_dir: Path) -> None:
    user = server.users[0]
    print(f"building and filling {args.envelopes} SdI envelopes with p7m invoices ...",
          flush=True)
    t0 = time.monotonic()
    supplier_ca, built = deliveries(args.envelopes, args.reuse)
    fill_maildir(server, user, built)
    print(f"  done in {time.monotonic() - t0:.1f} s")

    engine = create_engine(args.db_url or f"sqlite+aiosqlite:///{data_dir / 'pecora.db'}")
    if engine.dialect.name == "postgresql":  # a throw-away database: start from empty
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    archive = FilesystemArchive(data_dir / "archive")
    wake = asyncio.Event()
    ingestor = Ingestor(sessions, archive, wake)
    os.environ["PECORA_BENCH_IMAP_PW"] = user.password
    watcher = ImapWatcher("bench", MailboxSettings(
        host="127.0.0.1", port=server.imap_port, security="plain", username=user.name,
        password=SecretRef(env="PECORA_BENCH_IMAP_PW"), batch_size=200),
        ingestor, sessions, "bench-node")
    facts = passive_facts(PassiveSettings(), extra_anchors=(supplier_ca,))
    settings = InboxSettings(batch_size=args.batch_size, poll_seconds=0.05,
                             decide_workers=args.decide_workers)
    runners = [InboxRunner(sessions, archive, settings, worker=f"bench-{i}", wake=wake,
                           metrics=Metrics(), decider=decider(settings, facts))
               for i in range(args.runners)]
    stop = asyncio.Event()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    tasks = [asyncio.create_task(watcher.run(stop))]
    tasks += [asyncio.create_task(r.run(stop)) for r in runners]
    synced_at = None
    while await count(sessions, ReceivedInvoice) < args.envelopes:
        if synced_at is None and ingestor.received >= args.envelopes:
            synced_at = time.monotonic() - started
        for task in tasks:
            if task.done():
                task.result()
                raise SystemExit("a task ended early")
        await asyncio.sleep(0.2)
    elapsed = time.monotonic() - started
    synced = ingestor.received
    stop.set()
    await asyncio.gather(*tasks)
    workers_kb = worker_peaks()
    for r in runners:
        await r.close()
    async with sessions() as s:
        bad = (await s.execute(select(func.count()).select_from(InboxItem).where(
            InboxItem.state != InboxState.DONE))).scalar_one()
        last = (await s.execute(select(func.max(InboxItem.updated_at)))).scalar_one()
        first = (await s.execute(select(func.min(InboxItem.received_at)))).scalar_one()
    await engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rate = args.envelopes / elapsed
    print(f"IMAP sync + intake: {args.envelopes} invoices stored in {elapsed:.2f} s = "
          f"{rate:.0f} invoices/s ({args.runners} inbox runner(s), {synced} messages synced, "
          f"{bad} items not done)")
    print(f"IMAP sync alone finished after {synced_at or elapsed:.2f} s")
    span = (last - first).total_seconds() if last and first else float("nan")
    print(f"intake alone (first inbox row -> last item done): {span:.2f} s = "
          f"{args.envelopes / span:.0f} invoices/s")
    print(f"peak RSS: {peak_kb / 1024:.0f} MB (before the run: {rss_before / 1024:.0f} MB); "
          f"decide workers: {', '.join(f'{kb / 1024:.0f} MB' for kb in workers_kb) or 'none'}; "
          f"cores available: {len(os.sched_getaffinity(0))}")
    print("target (>= 150 invoices/s):", "met" if rate >= 150 else "MISSED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envelopes", type=int, default=2000)
    parser.add_argument("--runners", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs for a look")
    parser.add_argument("--db-url", help="a PostgreSQL URL (postgresql+asyncpg://...) instead of "
                        "SQLite; its public schema is DROPPED first: give a throw-away database")
    parser.add_argument("--decide-workers", type=int, default=None,
                        help="[inbox] decide_workers (0: a thread; unset: the daemon's default)")
    parser.add_argument("--reuse", type=Path, help="keep built envelopes here and reuse them")
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
