"""`python -m daemon.messaging_main [--config FILE] run`: the daemon plus mass messaging.

A stop-gap until `daemon/main.py` starts `messaging_tasks` itself: it runs `serve` and, once
the daemon is ready (schema migrated), the campaign runner, webhook receiver and poller over
their own `Services`, all stopped by SIGTERM/SIGINT. The crash test runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from daemon.config import parse_settings
from daemon.logs import setup_logging
from daemon.main import serve
from daemon.messaging import campaign_settings, messaging_tasks, split_config
from daemon.services import open_services


async def run(config: Path | None) -> int:
    """Run until a signal; return the daemon's exit code."""
    data, _ = split_config(config)
    settings = parse_settings(data, source=str(config))
    cfg = campaign_settings(settings, config)
    setup_logging(settings.logging.format, settings.logging.level)
    stop, ready = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def messaging() -> None:
        await asyncio.wait(
            [asyncio.ensure_future(ready.wait()), asyncio.ensure_future(stop.wait())],
            return_when=asyncio.FIRST_COMPLETED,
        )
        if stop.is_set():
            return
        async with open_services(settings, migrate_db=False) as svc, asyncio.TaskGroup() as tg:
            for name, coro in messaging_tasks(svc, cfg, stop):
                tg.create_task(coro, name=name)

    async with asyncio.TaskGroup() as tg:
        daemon = tg.create_task(serve(settings, stop=stop, ready=ready, install_signals=False))
        tg.create_task(messaging())
    return daemon.result()


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m daemon.messaging_main")
    parser.add_argument("--config", type=Path)
    parser.add_argument("command", choices=["run"])
    args = parser.parse_args()
    return asyncio.run(run(args.config))


if __name__ == "__main__":
    sys.exit(main())
