"""Benchmark the legal archive: archive 20,000 units and verify them (filesystem backend),
then search latency on 100,000 units (p95 must stay under 100 ms).

usage: .venv/bin/python bench/bench_archive.py [--units 20000] [--search-units 100000] [--db URL]
Prints units/s for archiving and verifying, and p50/p95/max per search shape.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.archive.units import archive_unit
from daemon.archive.verify import verify_archive
from handlers.archive.manifest import name_terms
from store import migrate
from store.archive_search import search
from store.archive_worm import RetainedFilesystemArchive
from store.db import create_engine, session_factory
from tests.support.archive_data import NOW, sample_unit

SURNAMES = ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
            "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa"]
FORMS = ["S.r.l.", "S.p.A.", "S.n.c.", "& C.", "Srls"]


def _buyer(rng: random.Random, n: int) -> tuple[str, str, str]:
    name = f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)} {n % 997} {rng.choice(FORMS)}"
    return name, f"IT{rng.randrange(10**10, 10**11):011d}", f"CF{n:014d}"


async def bench_archive_verify(units: int, workdir: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{workdir / 'a.db'}")
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    worm = RetainedFilesystemArchive(workdir / "archive")
    rng = random.Random(7)
    t0 = time.perf_counter()
    batch = 100  # one transaction per 100 units, as a catching-up pipeline would commit
    for start in range(0, units, batch):
        async with sessions() as s, s.begin():
            for n in range(start, min(units, start + batch)):
                buyer, vat, _ = _buyer(rng, n)
                await archive_unit(s, worm, sample_unit(n, buyer=buyer, buyer_vat=vat), now=NOW)
    took = time.perf_counter() - t0
    print(f"archive: {units} units (4 objects each, fsync'd) in {took:.1f} s "
          f"= {units / took:,.0f} units/s")
    t0 = time.perf_counter()
    async with sessions() as s:
        report = await verify_archive(s, worm)
    took = time.perf_counter() - t0
    assert report.ok, report.problems[:5]
    print(f"verify:  {report.units} units / {report.entries} objects re-hashed in {took:.1f} s "
          f"= {report.units / took:,.0f} units/s")
    await engine.dispose()


async def bench_search(units: int, url: str) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    rng = random.Random(11)
    base = dt.date(2016, 1, 1)
    # Rows are bulk-inserted (search needs the index, not the archived bytes).
    from store.models_archive import ArchiveParty, ArchiveTerm, ArchiveUnit

    t0 = time.perf_counter()
    vats: list[str] = []
    cfs: list[str] = []
    for start in range(0, units, 5000):
        async with sessions() as s, s.begin():
            rows, parties, terms = [], [], []
            for n in range(start, min(units, start + 5000)):
                buyer, vat, cf = _buyer(rng, n)
                vats.append(vat)
                cfs.append(cf)
                rows.append({"id": n + 1, "identifier": f"out/{n}", "kind": "invoice-out",
                             "flow": "out", "document_type": "TD01", "number": str(n),
                             "doc_date": base + dt.timedelta(days=n * 3650 // units),
                             "manifest_sha256": "0" * 64, "revision": 1,
                             "retention_class": "fiscal",
                             "retain_until": dt.datetime(2040, 1, 1, tzinfo=dt.UTC),
                             "created_at": NOW})
                parties.append({"unit_id": n + 1, "role": "buyer", "display_name": buyer,
                                "codice_fiscale": cf, "partita_iva": vat})
                parties.append({"unit_id": n + 1, "role": "seller", "display_name": "ACME S.p.A.",
                                "codice_fiscale": "09876543210", "partita_iva": "IT09876543210"})
                terms += [{"term": t, "unit_id": n + 1}
                          for t in name_terms(buyer) | name_terms("ACME S.p.A.")]
            await s.execute(ArchiveUnit.__table__.insert(), rows)
            await s.execute(ArchiveParty.__table__.insert(), parties)
            await s.execute(ArchiveTerm.__table__.insert(), terms)
    took = time.perf_counter() - t0
    print(f"search: loaded {units:,} units in {took:.1f} s ({url.split(':')[0]})")
    shapes = {
        "name (2 words)": lambda: {"name_terms": sorted(name_terms(
            f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)[:4]}"))},
        "name + date range": lambda: {"name_terms": sorted(name_terms(rng.choice(SURNAMES))),
                                      "date_from": dt.date(2020, 1, 1),
                                      "date_to": dt.date(2020, 12, 31)},
        "codice fiscale": lambda: {"codice_fiscale": rng.choice(cfs)},
        "partita IVA": lambda: {"partita_iva": rng.choice(vats)[2:]},
        "VAT + year": lambda: {"partita_iva": "IT09876543210",
                               "date_from": dt.date(2023, 1, 1), "date_to": dt.date(2023, 12, 31)},
        "date range": lambda: {"date_from": dt.date(2019, 3, 1), "date_to": dt.date(2019, 3, 31)},
    }
    worst = 0.0
    async with sessions() as s:
        for label, make in shapes.items():
            times = []
            for _ in range(200):
                criteria = make()
                t0 = time.perf_counter()
                await search(s, limit=100, **criteria)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            worst = max(worst, p95)
            print(f"  {label:18s} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
                  f"max {times[-1]:6.1f} ms")
    print(f"search p95 (worst shape): {worst:.1f} ms -> {'OK' if worst < 100 else 'TOO SLOW'}"
          " (target < 100 ms)")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--search-units", type=int, default=100_000)
    parser.add_argument("--db", help="search database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        await bench_archive_verify(args.units, Path(tmp))
        await bench_search(args.search_units, args.db or f"sqlite+aiosqlite:///{tmp}/s.db")


if __name__ == "__main__":
    asyncio.run(main())
