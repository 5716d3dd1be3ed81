"""Run the real daemon (`daemon.main.serve`) inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from daemon.config import Settings, parse_settings
from tests.support.net import free_port


def daemon_settings(tmp_path: Path, db_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test daemon: its own data dir, free ports, fast polling."""
    data: dict[str, Any] = {
        "daemon": {
            "data_dir": str(tmp_path / "data"),
            "node_name": "test-node",
            "grace_seconds": 5,
        },
        "lmtp": {"port": free_port()},
        "metrics": {"port": free_port()},
        "inbox": {"poll_seconds": 0.05},
        "outbox": {"poll_seconds": 0.05},
        "sandbox": {"enabled": False, "smtp_port": free_port()},
    }
    if db_url is not None:
        data["database"] = {"url": db_url}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return parse_settings(data, source="<test>")


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[asyncio.Event]:
    """Start `serve`, wait until ready, yield its stop event, and stop it (exit code 0)."""
    from daemon.main import serve

    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, ready=ready, install_signals=False))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        raise RuntimeError(f"daemon exited during startup with {task.result()}")
    if waiter not in done:
        raise TimeoutError("daemon not ready in 30 s")
    try:
        yield stop
    finally:
        stop.set()
        assert await asyncio.wait_for(task, timeout=30) == 0


async def wait_for(predicate: Any, *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll an async ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
