"""Benchmark: a 10,000-recipient e-mail campaign through pecora vs a bare aiosmtplib loop.

Both send to the same loopback aiosmtpd sink (its own process) with the same concurrency (10
connections). pecora runs in a child process from "campaign started" to "every delivery
accepted": fan-out, outbox claims, sends, recording, delivery states. Prints messages/s side
by side, the ratio (target >= 0.7) and pecora's peak RSS (target < 300 MB).

The store is a fresh SQLite file (WAL, synchronous=FULL) unless ``--db`` names a PostgreSQL
database, which must be a throw-away one: its public schema is dropped and recreated.

usage: .venv/bin/python bench/bench_campaign.py [--n 10000] [--concurrency 10] [--db URL]
       [--prebuilt]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sink_main(port_q: Any, stop_ev: Any) -> None:
    """The SMTP sink: accept everything, count nothing (the senders time themselves)."""
    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0)
        port_q.put(server.sockets[0].getsockname()[1])
        # a multiprocessing event: there is no asyncio one to await
        while not stop_ev.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        server.close()

    asyncio.run(run())


def payload(n: int) -> bytes:
    """About the size of one of the campaign's rendered messages."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "albo@ordine.test", f"socio{n}@mail.test", "Avviso"
    msg["Message-ID"] = f"<bare.{n}@ordine.test>"
    msg.set_content(f"Gentile Dott. Socio {n}, la quota 2025 scade il 31 marzo.\n" * 3)
    return msg.as_bytes()


async def bare(port: int, n: int, conc: int, prebuilt: bool = False) -> float:
    """The bare loop: ``conc`` aiosmtplib connections sharing ``n`` messages, each built with
    EmailMessage as it is sent (``prebuilt``: all built before the clock starts, so the loop
    times SMTP alone)."""
    import aiosmtplib

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    ready = [payload(i) for i in range(n)] if prebuilt else []

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
        await client.connect()
        while not queue.empty():
            i = queue.get_nowait()
            data = ready[i] if prebuilt else payload(i)
            await client.sendmail("albo@ordine.test", [f"socio{i}@mail.test"], data)
        await client.quit()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return n / (time.perf_counter() - t0)


def pecora_main(port: int, n: int, conc: int, db: str | None, out_q: Any) -> None:
    """pecora in its own process: seed, then time the campaign; report rate and peak RSS."""
    out_q.put(asyncio.run(_pecora(port, n, conc, db)))


async def _fresh_pg(url: str) -> None:
    from sqlalchemy import text

    from store.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _pecora(port: int, n: int, conc: int, db: str | None) -> tuple[float, float, float]:
    from channels.pool import ChannelPool
    from channels.smtp import SmtpChannel
    from daemon.config import OutboxSettings, RateLimit, RetryPolicy
    from daemon.config_campaigns import CampaignSettings
    from daemon.metrics import Metrics
    from daemon.runners.campaigns import CampaignRunner
    from daemon.runners.outbox import OutboxRunner
    from handlers.messaging.albo_rows import parse_row
    from store import albo, campaigns, migrate
    from store.archive import FilesystemArchive
    from store.campaign_reports import counts
    from store.clock import utcnow
    from store.db import create_engine, session_factory
    from store.models_messaging import CampaignState

    tmp = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    if db:
        await _fresh_pg(db)
    engine = create_engine(db or f"sqlite+aiosqlite:///{tmp / 'pecora.db'}")
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        for i in range(n):
            row = {"member_id": f"M{i:06d}", "name": f"Socio {i}", "email": f"socio{i}@mail.test"}
            await albo.upsert(s, parse_row(row), now=utcnow())
        cid = await campaigns.create(
            s,
            campaigns.NewCampaign(
                name="bench",
                subject="Avviso",
                channels=("email",),
                segment={},
                body="Gentile Dott. {{ name }}, la quota 2025 scade il 31 marzo.\n" * 3,
                sender="albo@ordine.test",
            ),
            now=utcnow(),
        )
    lanes = [
        SmtpChannel("mail", host="127.0.0.1", port=port, security="plain") for _ in range(conc)
    ]
    pool = ChannelPool("mail", lanes, rate=RateLimit(max_concurrency=conc))
    metrics, stop = Metrics(), asyncio.Event()
    outbox = OutboxRunner(
        sessions,
        {"mail": pool},
        {"mail": RetryPolicy()},
        OutboxSettings(poll_seconds=0.02, batch_size=conc * 20),
        worker="bench",
        wake=asyncio.Event(),
        metrics=metrics,
    )
    runner = CampaignRunner(
        sessions,
        FilesystemArchive(tmp / "archive"),
        CampaignSettings(page_size=1000, max_open=5000, poll_seconds=0.02),
        {"email": "mail"},
        metrics=metrics,
    )
    t0 = time.perf_counter()
    async with sessions() as s, s.begin():
        await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
    async with asyncio.TaskGroup() as tg:
        tg.create_task(outbox.run(stop))
        tg.create_task(runner.run(stop))
        while True:
            await asyncio.sleep(0.05)
            async with sessions() as s:
                if (await counts(s, cid)).get("email", {}).get("accepted") == n:
                    break
        elapsed = time.perf_counter() - t0
        stop.set()
    await engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return n / elapsed, elapsed, rss_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--db", help="a throw-away PostgreSQL URL (its public schema is dropped); default SQLite"
    )
    parser.add_argument(
        "--prebuilt",
        action="store_true",
        help="the bare loop builds its messages before timing (SMTP alone, a stricter baseline)",
    )
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    port_q, stop_ev = ctx.Queue(), ctx.Event()
    sink = ctx.Process(target=sink_main, args=(port_q, stop_ev), daemon=True)
    sink.start()
    port = port_q.get(timeout=30)
    try:
        bare_rate = asyncio.run(bare(port, args.n, args.concurrency, args.prebuilt))
        out_q = ctx.Queue()
        child = ctx.Process(
            target=pecora_main,
            args=(port, args.n, args.concurrency, args.db, out_q),
        )
        child.start()
        rate, elapsed, rss = out_q.get(timeout=1800)
        child.join()
    finally:
        stop_ev.set()
        sink.join(5)
    store = "PostgreSQL" if args.db else "SQLite"
    print(f"recipients {args.n}, concurrency {args.concurrency}, loopback aiosmtpd sink, {store}")
    bare_name = "bare loop, prebuilt" if args.prebuilt else "bare aiosmtplib loop"
    print(f"{bare_name:<28}{bare_rate:10.0f} msg/s")
    print(f"{'pecora campaign':<28}{rate:10.0f} msg/s  ({elapsed:.1f} s end to end)")
    print(f"{'ratio pecora / bare':<28}{rate / bare_rate:10.2f}   (target >= 0.70)")
    print(f"{'pecora peak RSS':<28}{rss:10.0f} MB     (target < 300)")


if __name__ == "__main__":
    main()
