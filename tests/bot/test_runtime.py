"""The bot runtime over real HTTP against the fake Bot API: lifecycle, who may do what,
stale/double-clicked/forwarded buttons, 429 retried by the rate limiter, callback_data limit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from store import bot_users, inbox
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.models import InboxState
from tests.bot.conftest import CUSTOMER, OPERATOR, STRANGER, Start
from tests.support.fake_bot_api import FakeBotApi, too_many_requests

Sessions = async_sessionmaker[AsyncSession]


def _to(chat: int) -> object:
    return lambda c: int(c.params.get("chat_id", 0)) == chat


async def test_lifecycle_calls_in_order(api: FakeBotApi, start_bot: Start) -> None:
    await start_bot()
    await api.wait_for("setMyCommands")
    await start_bot.stop_all()  # type: ignore[attr-defined]
    methods = [c.method for c in api.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]  # initialize, then start_polling


async def test_unknown_user_is_refused_politely_and_audited(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot()
    await api.push_text(STRANGER, "/status")
    (reply,) = await api.wait_for("sendMessage", where=_to(STRANGER))
    assert "non sei autorizzato" in reply.params["text"] and str(STRANGER) in reply.params["text"]
    async with sessions() as s:
        trail = await bot_users.audit_trail(s, telegram_id=STRANGER)
    assert [(a.action, a.outcome) for a in trail] == [("/status", "refused")]


async def test_role_is_checked_per_command(api: FakeBotApi, start_bot: Start) -> None:
    await start_bot()
    await api.push_text(CUSTOMER, "/status")
    (reply,) = await api.wait_for("sendMessage", where=_to(CUSTOMER))
    assert reply.params["text"] == "Questo comando è per gli operatori."


async def _quarantined(sessions: Sessions, archive: FilesystemArchive) -> int:
    sha = await archive.put(b"Subject: x\r\n\r\nbody")
    now = utcnow()
    async with sessions() as s, s.begin():
        put = await inbox.put(
            s,
            inbox.Received(source="lmtp", sha256=sha, size=10, recipients=("a@b",)),
            now=now,
        )
        await inbox.claim(s, "w", limit=1, now=now)
        await inbox.finish(
            s, put.item_id, InboxState.QUARANTINED, route="unknown", reason="held", now=now
        )
    return put.item_id


async def test_status_quarantine_requeue_double_click_and_restart(
    api: FakeBotApi, start_bot: Start, sessions: Sessions, archive: FilesystemArchive
) -> None:
    item = await _quarantined(sessions, archive)
    await start_bot()
    await api.push_text(OPERATOR, "/status")
    (status,) = await api.wait_for("sendMessage", where=_to(OPERATOR))
    assert "quarantined 1" in status.params["text"]
    await api.push_text(OPERATOR, "/quarantine")
    cards = await api.wait_for("sendMessage", 2, where=_to(OPERATOR))
    card_id = max(m for (chat, m) in api.messages if chat == OPERATOR)
    assert f"Inbox #{item}" in cards[1].params["text"]
    data = api.buttons(OPERATOR, card_id)["Rimetti in coda"]
    assert len(data.encode()) <= 64
    # A restart between posting the button and pressing it: the token lives in the store.
    await start_bot.stop_all()  # type: ignore[attr-defined]
    await start_bot()
    await api.push_callback(OPERATOR, OPERATOR, card_id, data)
    await api.push_callback(OPERATOR, OPERATOR, card_id, data)  # the double click
    answers = await api.wait_for("answerCallbackQuery", 2)
    assert answers[0].params.get("text") is None
    assert answers[1].params["text"] == "Già fatto: questa scheda è stata usata."
    await api.wait_for("editMessageText")
    assert "rimesso in coda" in api.messages[(OPERATOR, card_id)]["text"]
    assert "reply_markup" not in api.messages[(OPERATOR, card_id)]
    async with sessions() as s:
        row = await inbox.get(s, item)
    assert row is not None and row.state is InboxState.QUEUED
    # A made-up token is just refused.
    await api.push_callback(OPERATOR, OPERATOR, card_id, "t:not-a-real-token")
    third = (await api.wait_for("answerCallbackQuery", 3))[2]
    assert third.params["text"] == "Questo pulsante non è più valido."


async def test_forwarded_messages_and_buttons_are_harmless(
    api: FakeBotApi, start_bot: Start, sessions: Sessions, archive: FilesystemArchive
) -> None:
    await _quarantined(sessions, archive)
    await start_bot()
    await api.push_text(OPERATOR, "/status", forwarded_from=CUSTOMER)
    (reply,) = await api.wait_for("sendMessage", where=_to(OPERATOR))
    assert reply.params["text"].startswith("Non eseguo messaggi inoltrati")
    await api.push_text(OPERATOR, "/quarantine")
    await api.wait_for("sendMessage", 2, where=_to(OPERATOR))
    card_id = max(m for (chat, m) in api.messages if chat == OPERATOR)
    data = api.buttons(OPERATOR, card_id)["Rimetti in coda"]
    # The card forwarded to another operator's chat and pressed there: bound to its chat.
    other = 4242
    async with sessions() as s, s.begin():
        await bot_users.upsert(s, other, name="Altro", roles=["operator"], now=utcnow())
    api.messages[(other, 1)] = {
        **api.messages[(OPERATOR, card_id)],
        "chat": {"id": other, "type": "private"},
        "message_id": 1,
    }
    await api.push_callback(other, other, 1, data)
    (ans,) = await api.wait_for("answerCallbackQuery")
    assert ans.params["text"] == "Questo pulsante vale solo nella chat originale."
    # ... and the operator it was meant for pressing it at home: bound to the user as well.
    await api.push_callback(CUSTOMER, OPERATOR, card_id, data)
    answers = await api.wait_for("answerCallbackQuery", 2)
    assert answers[1].params["text"] == "Questo pulsante non è per te."


async def test_429_is_retried_by_the_rate_limiter(api: FakeBotApi, start_bot: Start) -> None:
    await start_bot()
    api.fail_next["sendMessage"] = [too_many_requests(retry_after=1)]
    await api.push_text(CUSTOMER, "/whoami")
    first, second = await api.wait_for("sendMessage", 2, where=_to(CUSTOMER))
    assert second.at - first.at >= 0.9  # waited retry_after, then sent the same message again
    assert second.params["text"] == first.params["text"]


async def test_the_fake_enforces_the_64_byte_callback_data_limit(api: FakeBotApi) -> None:
    bot = Bot(api.token, base_url=api.base_url)
    async with bot:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(1, "hi", reply_markup=markup)
        ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 64)]])
        await bot.send_message(1, "hi", reply_markup=ok)


async def test_errors_are_logged_and_alerted_once(
    api: FakeBotApi, start_bot: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = await start_bot()
    from bot import app as bot_app

    async def boom(*args: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(bot_app.bot_users, "roles_of", boom)
    await api.push_text(CUSTOMER, "/whoami")
    await api.push_text(CUSTOMER, "/whoami")
    alerts = await api.wait_for("sendMessage", where=_to(runner.ctx.alerts_chat or 0))
    await asyncio.sleep(0.3)
    # One alert for two failures (throttled), nothing else said: the gate failed closed.
    assert len(api.sent()) == 1 and "kaboom" in alerts[0].params["text"]
    assert len(runner.errors.seen) == 2


async def test_status_shows_running_campaigns(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    from store import campaigns
    from store.models_messaging import CampaignState

    async with sessions() as s, s.begin():
        cid = await campaigns.create(
            s,
            campaigns.NewCampaign(
                name="Assemblea 2026",
                subject="Convocazione",
                body="Gentile {{ name }}",
                channels=("email",),
                segment={},
                sender="albo@ordine.test",
            ),
            now=utcnow(),
        )
        await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
    await start_bot()
    await api.push_text(OPERATOR, "/status")
    (status,) = await api.wait_for("sendMessage", where=_to(OPERATOR))
    assert "Campagna Assemblea 2026" in status.params["text"]


async def test_webhook_mode_takes_updates_with_the_secret_only(
    api: FakeBotApi, start_bot: Start, sessions: Sessions, archive: FilesystemArchive
) -> None:
    import json
    import time
    import urllib.error
    import urllib.request

    from tests.support.net import free_port

    await _quarantined(sessions, archive)
    port = free_port()
    await start_bot(
        mode="webhook",
        webhook_url="https://pecora.example.it/telegram",
        webhook_secret="webhook-s3cret",
        webhook_host="127.0.0.1",
        webhook_port=port,
    )
    (registered,) = await api.wait_for("setWebhook")
    assert registered.params["url"] == "https://pecora.example.it/telegram"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 900,
            "date": int(time.time()),
            "chat": {"id": OPERATOR, "type": "private"},
            "from": {"id": OPERATOR, "is_bot": False, "first_name": "Op"},
            "text": "/status",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }

    def post(secret: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/telegram",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert await asyncio.to_thread(post, "forged") == 403
    assert await asyncio.to_thread(post, "webhook-s3cret") == 200
    (status,) = await api.wait_for("sendMessage", where=_to(OPERATOR))
    assert "quarantined 1" in status.params["text"]
