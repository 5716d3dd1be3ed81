"""The stage the tour runs on: a real daemon in sandbox mode, in-process, on loopback.

`stage` starts `daemon.main.serve` on a throw-away data dir with free loopback ports and a fast
sandbox clock, plus the local stand-ins the campaign channels need: an SMTP sink for e-mail and
the fake SMS, fax and registered-mail providers (their delivery reports come back to the
daemon's own webhook receiver). Through `observe_sandbox` it gets the in-process
`SandboxWorld` (its supplier, and PEC mailboxes for the demo's customers and members) — the
same objects `pecora run` uses, nothing re-implemented.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.fakes.providers import FakeFax, FakeRegisteredMail, FakeSms
from daemon.config import Settings, parse_settings
from daemon.sandbox.network import MemoryMailbox, free_port
from daemon.sandbox.world import SandboxWorld
from daemon.sandbox_mode import SandboxRuntime, observe_sandbox
from store.archive import FilesystemArchive
from store.db import create_engine, session_factory

HOST = "127.0.0.1"
USER = "fatture@pec.sandbox.test"  # our PEC address in the sandbox (SandboxSettings default)
SUPPLIER = "fornitore@pec.sandbox.test"  # the simulated supplier's transmitter address
CUSTOMER_PEC = "acquisti@pec.cliente.sandbox.test"  # the private customer's PEC
#: Campaign channel -> the outbox alias the demo configures for it.
ALIASES = {"pec": "pec", "email": "mail", "sms": "sms", "fax": "fax", "registered-mail": "rol"}


class _Sink:
    """aiosmtpd handler keeping what it is given: the e-mail the campaign sends stays here."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 2.0.0 kept by the demo's local SMTP sink"


@dataclass
class Stage:
    """Everything the tour touches."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    archive: FilesystemArchive
    world: SandboxWorld
    sink: _Sink
    sms: FakeSms
    fax: FakeFax
    rol: FakeRegisteredMail
    #: PEC mailboxes opened in the sandbox for the demo's own counterparts.
    boxes: dict[str, MemoryMailbox] = field(default_factory=dict)


def demo_settings(data_dir: Path, *, days_per_second: float, urls: dict[str, str],
                  sink_port: int, webhook_port: int, secret_file: Path) -> Settings:
    """Sandbox-mode settings for a throw-away daemon: free ports, quick polling, the five
    campaign channels pointed at local stand-ins."""
    secret = {"file": str(secret_file)}
    http = {"retry": {"backoff_seconds": [0.5, 1, 2]}, "webhook_secret": secret}
    data: dict[str, Any] = {
        "daemon": {"data_dir": str(data_dir), "node_name": "demo", "grace_seconds": 5,
                   "watchdog": False},
        "lmtp": {"host": HOST, "port": free_port()},
        "metrics": {"enabled": False},
        "inbox": {"poll_seconds": 0.05},
        "outbox": {"poll_seconds": 0.05},
        "sandbox": {"enabled": True, "host": HOST, "smtp_port": free_port(),
                    "clock_factor": days_per_second * 86400, "user_address": USER},
        "channels": {
            "mail": {"kind": "smtp", "host": HOST, "port": sink_port, "security": "plain",
                     "sender": USER, "timeout": 10, "retry": {"backoff_seconds": [0.5, 1, 2]}},
            "sms": {"kind": "sms", "base_url": urls["sms"], **http},
            "fax": {"kind": "fax", "base_url": urls["fax"], **http},
            "rol": {"kind": "registered-mail", "base_url": urls["rol"], **http},
        },
        "campaigns": {"channels": ALIASES, "poll_seconds": 0.1, "webhook_host": HOST,
                      "webhook_port": webhook_port, "report_poll_after_seconds": 3,
                      "report_poll_every_seconds": 1},
    }
    return parse_settings(data, source="<pecora demo>")


@contextlib.asynccontextmanager
async def _smtp_sink() -> AsyncIterator[tuple[_Sink, int]]:
    sink = _Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.sandbox.test"), HOST, 0)
    try:
        yield sink, int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def _daemon(settings: Settings, extra_accounts: dict[str, MemoryMailbox]
                  ) -> AsyncIterator[SandboxWorld]:
    """Run `serve` until the block ends; yield its sandbox world once the daemon is ready."""
    from daemon.main import serve

    built: list[SandboxRuntime] = []

    def opened(runtime: SandboxRuntime) -> None:
        # Before anything listens: the counterparts' PEC boxes exist from the first message.
        for address, box in extra_accounts.items():
            runtime.world.provider.add_account(address, "", box)
        built.append(runtime)

    stop, ready = asyncio.Event(), asyncio.Event()
    with observe_sandbox(opened):  # the task copies this context: serve sees the observer
        task = asyncio.create_task(serve(settings, stop=stop, ready=ready, install_signals=False),
                                   name="pecora-demo-daemon")
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        raise RuntimeError(f"the daemon exited during startup (exit code {task.result()})")
    if waiter not in done:
        stop.set()
        await asyncio.wait_for(task, 30)
        raise TimeoutError("the daemon was not ready within 60 s")
    try:
        yield built[0].world
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 30)
        if code != 0:
            raise RuntimeError(f"the daemon stopped with exit code {code}")


def _write_secret(data_dir: Path, secret: str) -> Path:
    """The webhook secret, in a file only we read (settings take secrets by reference)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / "webhook-secret"
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def stage(data_dir: Path, *, days_per_second: float,
                extra_accounts: tuple[str, ...]) -> AsyncIterator[Stage]:
    """Start the stand-ins and the daemon; yield the `Stage`; stop everything on exit."""
    secret = secrets.token_urlsafe(24)  # made up for this run, like the sandbox's password
    secret_file = await asyncio.to_thread(_write_secret, data_dir, secret)
    webhook_port = free_port()
    hook = f"http://{HOST}:{webhook_port}/webhooks"
    sms = FakeSms(webhook_secret=secret, callback_url=f"{hook}/sms")
    fax = FakeFax(webhook_secret=secret, callback_url=f"{hook}/fax")
    rol = FakeRegisteredMail(webhook_secret=secret, callback_url=f"{hook}/rol")
    boxes = {address: MemoryMailbox() for address in extra_accounts}
    async with contextlib.AsyncExitStack() as stack:
        sink, sink_port = await stack.enter_async_context(_smtp_sink())
        urls = {"sms": await stack.enter_async_context(sms.running(HOST)),
                "fax": await stack.enter_async_context(fax.running(HOST)),
                "rol": await stack.enter_async_context(rol.running(HOST))}
        settings = demo_settings(data_dir, days_per_second=days_per_second, urls=urls,
                                 sink_port=sink_port, webhook_port=webhook_port,
                                 secret_file=secret_file)
        world = await stack.enter_async_context(_daemon(settings, boxes))
        engine = create_engine(settings.database_url())
        stack.push_async_callback(engine.dispose)
        yield Stage(settings, session_factory(engine), FilesystemArchive(settings.archive_dir),
                    world, sink, sms, fax, rol, boxes)
