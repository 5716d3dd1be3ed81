"""Bot fixtures: the fake Bot API on loopback, a seeded store, and a running `BotRunner`.

Any attempt to resolve a host other than loopback fails the test: the bot must never reach
Telegram from the test suite.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotRunner
from bot.context import BotOptions, InvoiceHooks
from store import bot_users
from store.bot_users import Role
from store.clock import utcnow
from tests.support.fake_bot_api import FakeBotApi

STAFF = -1001
APPROVERS = -1002
CUSTOMER, OPERATOR, L1, L2, L3, STRANGER = 11, 12, 21, 22, 23, 66
APPROVER, APPROVER2 = 31, 32
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail on any name lookup that is not loopback (httpx resolves before connecting)."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise AssertionError(f"test tried to reach {name!r}: only loopback is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API, serving."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def people(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Users with roles (STRANGER has none)."""
    now = utcnow()
    async with sessions() as s, s.begin():
        await bot_users.upsert(s, CUSTOMER, name="Cliente", roles=[Role.CUSTOMER], now=now)
        await bot_users.upsert(s, OPERATOR, name="Op", roles=[Role.OPERATOR], now=now)
        await bot_users.upsert(s, L1, name="Uno", roles=[Role.SUPPORT_L1], now=now)
        await bot_users.upsert(s, L2, name="Due", roles=[Role.SUPPORT_L2], now=now)
        await bot_users.upsert(s, L3, name="Tre", roles=[Role.SUPPORT_L3], now=now)
        await bot_users.upsert(s, APPROVER, name="Anna", roles=[Role.APPROVER], now=now)
        await bot_users.upsert(s, APPROVER2, name="Bruno", roles=[Role.APPROVER], now=now)


def options(api: FakeBotApi, **overrides: Any) -> BotOptions:
    """Bot options pointed at the fake, with fast polling."""
    base = BotOptions(
        token=api.token,
        base_url=api.base_url,
        base_file_url=f"http://127.0.0.1:{api.port}/file/bot",
        poll_timeout=1,
        staff_chat_id=STAFF,
        approvers_chat_id=APPROVERS,
        feed_seconds=0.2,
        max_retries=2,
        support_address="assistenza@pecora.test",
        mail_channel="support-mail",
    )
    return replace(base, **overrides)


Start = Callable[..., Any]


@pytest.fixture
async def start_bot(
    api: FakeBotApi, sessions: async_sessionmaker[AsyncSession], people: None
) -> AsyncIterator[Start]:
    """Start bots on demand (several = a restart); all are stopped at the end."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(hooks: InvoiceHooks | None = None, **overrides: Any) -> BotRunner:
        runner = BotRunner(sessions, options(api, **overrides), invoices=hooks)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        running.append((stop, task))
        await asyncio.wait_for(runner.running.wait(), 10)
        return runner

    async def stop_all() -> None:
        for stop, task in running:
            stop.set()
            await asyncio.wait_for(task, 15)
        running.clear()

    start.stop_all = stop_all  # type: ignore[attr-defined]
    yield start
    await stop_all()
