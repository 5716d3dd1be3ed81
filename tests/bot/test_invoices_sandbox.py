"""Approval in chat end to end: the sandbox SdI delivers a PA supplier invoice to the real
daemon (LMTP), the bot posts the card with the PDF to the approvers over the fake Bot API, an
approver decides, and the EC the use-case queues reaches the sandbox SdI (whose NE then goes
to the supplier)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import BotRunner
from bot.context import InvoiceHooks
from handlers.formats.sdi_types import Esito, NotificaEsito
from handlers.passive.ec_mail import DecisionMailer
from store import bot_users
from store.archive import FilesystemArchive
from store.bot_users import Role
from store.clock import utcnow
from store.models_passive import ReviewState
from store.passive import DecisionPolicy
from tests.bot.conftest import APPROVER, APPROVERS, options
from tests.daemon.passive.harness import Passive, passive_world
from tests.handlers.formats.fatturapa import factory
from tests.support.fake_bot_api import FakeBotApi

PA_OFFICE = "UFX001"


@asynccontextmanager
async def world_and_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeBotApi
                        ) -> AsyncIterator[Passive]:
    """The passive sandbox world and daemon, and a bot on the daemon's store."""
    async with passive_world(tmp_path, monkeypatch) as w:
        async with w.sessions() as s, s.begin():
            await bot_users.upsert(s, APPROVER, name="Anna", roles=[Role.APPROVER], now=utcnow())
        hooks = InvoiceHooks(policy=DecisionPolicy(mailer=DecisionMailer()),
                             fetch=FilesystemArchive(tmp_path / "data" / "archive").get)
        runner = BotRunner(w.sessions, options(api), invoices=hooks)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await asyncio.wait_for(runner.running.wait(), 10)
        try:
            yield w
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def _card(api: FakeBotApi) -> tuple[int, str]:
    (sent,) = await api.wait_for("sendDocument", timeout=30)
    assert int(sent.params["chat_id"]) == APPROVERS
    assert sent.params["document"]["head"] == "%PDF-"
    return max(m for (c, m) in api.messages if c == APPROVERS), str(sent.params["caption"])


async def _message_saying(api: FakeBotApi, text: str) -> int:
    # The fake records a call before it stores the message: find the prompt by its text.
    for _ in range(300):
        found = [m for (c, m), body in api.messages.items()
                 if c == APPROVERS and text in str(body.get("text", ""))]
        if found:
            return max(found)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message saying {text!r}")


async def _caption(api: FakeBotApi, msg: int, expect: str) -> str:
    for _ in range(300):
        caption = str(api.messages[(APPROVERS, msg)].get("caption", ""))
        if expect in caption:
            return caption
        await asyncio.sleep(0.05)
    raise AssertionError(f"card never said {expect!r}")


@pytest.mark.parametrize("accept", [True, False], ids=["accept-EC01", "refuse-EC02"])
async def test_pa_invoice_decided_in_chat_ec_reaches_sdi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeBotApi, accept: bool
) -> None:
    async with world_and_bot(tmp_path, monkeypatch, api) as w:
        sent = await w.world.supplier.deliver(factory.invoice(formato="FPA12", codice=PA_OFFICE))
        msg, caption = await _card(api)
        assert "PA: esito (EC) entro" in caption
        label = "✅ Accetta" if accept else "❌ Rifiuta"
        await api.push_callback(APPROVER, APPROVERS, msg, api.buttons(APPROVERS, msg)[label])
        if not accept:
            await api.wait_for("sendMessage", where=lambda c: "motivo del rifiuto" in
                               str(c.params.get("text")))
            prompt = await _message_saying(api, "motivo del rifiuto")
            await api.push_text(APPROVER, "CIG mancante", chat_id=APPROVERS, reply_to=prompt)
        text = await _caption(api, msg, "Accettata da Anna" if accept else "Rifiutata da Anna")
        assert ("EC01" if accept else "EC02") in text and "queued to" in text
        [ne] = await w.supplier_notices(1, timeout=30)
        assert isinstance(ne, NotificaEsito)
        assert ne.esito_committente.esito is (Esito.EC01 if accept else Esito.EC02)
        record = w.world.sdi.record(sent.identificativo_sdi)
        assert record is not None
        assert record.state.value == ("accepted" if accept else "refused")
        [inv] = await w.invoices()
        assert inv.state is (ReviewState.ACCEPTED if accept else ReviewState.REFUSED)
