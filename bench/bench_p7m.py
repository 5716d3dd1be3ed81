"""Benchmark p7m unwrap/s and verify/s on the reference p7m files (a script, not a test).

Usage: .venv/bin/python bench/bench_p7m.py [--seconds 2] [--ref ../shared/ref]
Verify runs with an empty TrustStore (the real files' CAs are not in ref/), so it measures
parsing + digest + signature value + signer checks, and stops before path building.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.formats import p7m
from handlers.formats.trust import TrustStore

DEFAULT_REF = Path(__file__).resolve().parents[2] / "shared" / "ref"


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` of wall clock (after a warm-up)."""
    for _ in range(20):
        fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--ref", type=Path, default=DEFAULT_REF)
    args = parser.parse_args()
    files = sorted((args.ref / "invoices").glob("*.p7m"))
    if not files:
        sys.exit(f"no p7m files under {args.ref / 'invoices'}")
    trust = TrustStore()
    print(f"{'file':44} {'bytes':>7} {'unwrap/s':>10} {'verify/s':>10}")
    for path in files:
        data = path.read_bytes()
        u = rate(lambda d=data: p7m.unwrap(d), args.seconds)  # type: ignore[misc]
        v = rate(lambda d=data: p7m.verify(d, trust), args.seconds)  # type: ignore[misc]
        print(f"{path.name:44} {len(data):7d} {u:10.0f} {v:10.0f}")


if __name__ == "__main__":
    main()
