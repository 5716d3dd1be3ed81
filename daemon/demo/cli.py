"""`pecora demo`: run the scripted tour against the embedded sandbox and print its summary.

It needs no configuration and touches none: a daemon in sandbox mode runs in this process on a
throw-away data dir (``--data-dir`` to keep one), on free loopback ports, with a fast clock
(``--days-per-second``) so SdI's 15-day window passes in seconds. Exit 0 only if every step
came out as expected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from daemon.demo import active, archive, campaign, passive
from daemon.demo.stage import CUSTOMER_PEC, SUPPLIER, stage
from daemon.demo.steps import Step

# Piped (CI logs, a README), rich would squeeze the table into 80 columns: give it room.
out = Console(width=None if sys.stdout.isatty() else 132)
err = Console(stderr=True, soft_wrap=True)
_STYLE = {"ok": "green", "failed": "bold red"}


async def tour(data_dir: Path, *, days_per_second: float, slack: float) -> list[Step]:
    """Run every part of the tour against one daemon; return the summary rows in order."""
    accounts = (CUSTOMER_PEC, SUPPLIER, campaign.MEMBER_PEC)
    async with stage(data_dir, days_per_second=days_per_second, extra_accounts=accounts) as st:
        # The three parts share nothing but the daemon, so they run side by side: the tour
        # takes as long as its slowest part (the DT, 15 simulated days).
        rows_active, rows_passive, rows_campaign = await asyncio.gather(
            active.run(st, days_per_second=days_per_second, slack=slack),
            passive.run(st, run_id=secrets.token_hex(3).upper(), patience=slack),
            campaign.run(st, patience=slack + 10),
        )
        issued = sum(c.kinds != ("NS",) for c in active.CASES)
        rows_archive = await archive.run(st, issued=issued, received=passive.COUNT)
    return [*rows_active, *rows_passive, *rows_campaign, *rows_archive]


def _fresh(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


async def _run(args: argparse.Namespace, _settings: object = None) -> int:
    if not args.verbose:
        # The daemon's INFO lines would bury the summary; warnings (the sandbox banner) stay.
        logging.getLogger().setLevel(logging.WARNING)
    if args.data_dir is not None and not _fresh(args.data_dir):
        err.print(f"--data-dir {args.data_dir} is not empty: the demo needs a fresh directory")
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pecora-demo-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if not args.json:
            err.print(f"pecora demo: sandbox daemon on loopback, data in {data_dir}, "
                      f"{args.days_per_second:g} simulated days per second")
        try:
            rows = await tour(data_dir, days_per_second=args.days_per_second,
                              slack=args.timeout)
        except (OSError, RuntimeError, TimeoutError) as exc:
            # The stage itself did not come up or go down cleanly (a port taken, the daemon
            # exiting): no summary to print, say why.
            err.print(f"[red]pecora demo could not run: {exc}[/red]", highlight=False)
            return 1
    seconds = time.monotonic() - started
    ok = all(r.status == "ok" for r in rows)
    if args.json:
        doc: dict[str, Any] = {
            "ok": ok, "seconds": round(seconds, 1),
            "data_dir": str(args.data_dir) if args.data_dir else None,
            "steps": [r.to_json() for r in rows],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print(rows, ok, seconds, args.data_dir)
    return 0 if ok else 1


def _print(rows: list[Step], ok: bool, seconds: float, kept: Path | None) -> None:
    table = Table(title="pecora demo: the tour against the sandbox", show_lines=True)
    for name in ("area", "step", "expected", "observed", "result"):
        table.add_column(name, overflow="fold")
    for r in rows:
        style = _STYLE[r.status]
        table.add_row(r.area, r.step, r.expected, r.observed, f"[{style}]{r.status}[/{style}]")
    out.print(table)
    failed = sum(r.status == "failed" for r in rows)
    verdict = "[green]every step as expected[/green]" if ok else f"[red]{failed} failed[/red]"
    out.print(f"{verdict} in {seconds:.1f} s; nothing left this machine")
    if kept is not None:
        out.print(f"data kept in {kept}: try `PECORA_DATA_DIR={kept} pecora invoice list` "
                  "(sandbox mode)")


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--data-dir", type=Path,
                        help="keep the demo's data here (an empty or new directory)")
    parser.add_argument("--days-per-second", type=_positive, default=2.0,
                        help="simulated days per real second (default 2: DT in ~8 s)")
    parser.add_argument("--timeout", type=_positive, default=30.0,
                        help="seconds each step may take beyond its simulated time")
    parser.add_argument("--verbose", action="store_true", help="show the daemon's log")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to ``pecora``'s subcommands (it reads no configuration)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="run a scripted tour against the sandbox and print a summary")
    _arguments(parser)
    parser.set_defaults(func=_run, needs_settings=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m daemon.demo``: the same as ``pecora demo``."""
    from daemon.logs import setup_logging

    parser = argparse.ArgumentParser(prog="pecora demo", description=__doc__.splitlines()[0])
    _arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(level="WARNING")
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
