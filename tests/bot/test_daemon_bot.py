"""The bot as `pecora run` wires it: sandbox mode, a supplier invoice delivered by the sandbox
SdI, the approval card with its PDF posted by the daemon's own bot to the fake Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.sandbox_mode import SandboxRuntime, observe_sandbox
from store import bot_users
from store.bot_users import Role
from store.clock import utcnow
from store.db import create_engine, session_factory
from tests.bot.conftest import APPROVER, APPROVERS
from tests.handlers.formats.fatturapa import factory
from tests.support.daemon import daemon_settings, running
from tests.support.fake_bot_api import FakeBotApi
from tests.support.net import free_port


async def test_pecora_run_posts_the_approval_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeBotApi
) -> None:
    monkeypatch.setenv("PECORA_T_BOT_TOKEN", api.token)
    settings = daemon_settings(
        tmp_path,
        sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": 60},
        bot={
            "token": {"env": "PECORA_T_BOT_TOKEN"},
            "base_url": api.base_url,
            "base_file_url": f"http://127.0.0.1:{api.port}/file/bot",
            "poll_timeout": 1,
            "approvers_chat_id": APPROVERS,
            "feed_seconds": 0.2,
        },
    )
    worlds: list[SandboxRuntime] = []
    engine = create_engine(settings.database_url())
    try:
        with observe_sandbox(worlds.append):
            async with running(settings):
                async with session_factory(engine)() as s, s.begin():
                    await bot_users.upsert(
                        s, APPROVER, name="Anna", roles=[Role.APPROVER], now=utcnow()
                    )
                await worlds[0].world.supplier.deliver(factory.invoice(codice="0000000"))
                (sent,) = await api.wait_for("sendDocument", timeout=30)
                msg = max(m for (c, m) in api.messages if c == APPROVERS)
                buttons = api.buttons(APPROVERS, msg)
    finally:
        await engine.dispose()
    assert int(sent.params["chat_id"]) == APPROVERS
    assert sent.params["document"]["head"] == "%PDF-"  # the rendering is attached
    assert set(buttons) == {"✅ Accetta", "❌ Rifiuta"}  # the daemon's bot has the hooks
