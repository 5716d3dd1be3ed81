"""The support desk through the real PTB stack: a ticket's whole life across three levels,
the SLA job's alerts reaching the staff group, and an e-mail ticket answered by e-mail."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config_bot import DeskSettings
from daemon.desk_jobs import calendar, check_sla
from store import tickets
from store.models import OutboxItem
from store.tickets import NewTicket
from tests.bot.conftest import CUSTOMER, L1, L2, L3, STAFF, Start
from tests.support.fake_bot_api import Call, FakeBotApi

Sessions = async_sessionmaker[AsyncSession]


def _to(chat: int, contains: str = "") -> Any:
    return lambda c: (
        int(c.params.get("chat_id", 0)) == chat and contains in str(c.params.get("text", ""))
    )


def _last(api: FakeBotApi, chat: int) -> int:
    return max(m for (c, m) in api.messages if c == chat)


async def _press(api: FakeBotApi, user: int, chat: int, msg: int, label: str) -> None:
    n = len(api.sent("answerCallbackQuery"))
    await api.push_callback(user, chat, msg, api.buttons(chat, msg)[label])
    await api.wait_for("answerCallbackQuery", n + 1)


async def _said(api: FakeBotApi, chat: int, expect: str, *, after: int = 0) -> Call:
    """Wait until the bot sent or edited a message in ``chat`` containing ``expect``."""
    for _ in range(200):
        for c in api.calls[after:]:
            if c.method in ("sendMessage", "editMessageText") and _to(chat, expect)(c):
                return c
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing containing {expect!r} in chat {chat}")


async def _answer_prompt(api: FakeBotApi, user: int, chat: int, text: str, expect: str) -> Call:
    prompt, after = _last(api, chat), len(api.calls)
    await api.push_text(user, text, chat_id=chat, reply_to=prompt)
    return await _said(api, chat, expect, after=after)


async def _card(api: FakeBotApi, ticket_id: int, contains: str) -> int:
    def match(c: Call) -> bool:
        return (
            c.method in ("sendMessage", "editMessageText")
            and f"Ticket #{ticket_id} · " in str(c.params.get("text"))
            and contains in str(c.params.get("text"))
        )

    await api.wait_for("sendMessage", where=_to(STAFF, f"Ticket #{ticket_id}"))
    for method in ("editMessageText", "sendMessage"):
        calls = [c for c in api.calls if c.method == method and match(c)]
        if calls:
            break
    else:
        await api.wait_for("editMessageText", where=match)
    (card,) = {
        m
        for (c, m), msg in api.messages.items()
        if c == STAFF and str(msg.get("text", "")).startswith(f"Ticket #{ticket_id} ·")
    }
    return card


async def test_ticket_full_life_through_three_levels(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot()
    # The customer opens a ticket: area by button, description by ForceReply.
    await api.push_text(CUSTOMER, "/ticket")
    await api.wait_for("sendMessage", where=_to(CUSTOMER, "Di che area"))
    await _press(api, CUSTOMER, CUSTOMER, _last(api, CUSTOMER), "Fatturazione attiva")
    await api.wait_for("sendMessage", where=_to(CUSTOMER, "Descrivi il problema"))
    await _answer_prompt(api, CUSTOMER, CUSTOMER, "Scarto 00404 sulla fattura 12", "aperto")
    async with sessions() as s:
        (t,) = await tickets.listing(s, requester_id=CUSTOMER)
    tid = t.id
    # The staff group gets the triage card; L1 takes it and asks the customer.
    card = await _card(api, tid, "L1 · new")
    await _press(api, L1, STAFF, card, "Prendo io")
    await api.wait_for("editMessageText", where=_to(STAFF, "Assegnato a: 21"))
    await _press(api, L1, STAFF, card, "Chiedi al cliente")
    await api.wait_for("sendMessage", where=_to(STAFF, "Domanda per il cliente"))
    await _answer_prompt(api, L1, STAFF, "Qual è l'identificativo SdI?", "waiting-customer")
    dm = (await api.wait_for("sendMessage", where=_to(CUSTOMER, "Il supporto chiede")))[-1]
    assert "Qual è l'identificativo SdI?" in dm.params["text"]
    # The customer answers by replying to the question: the staff group hears it.
    await _answer_prompt(api, CUSTOMER, CUSTOMER, "È 123456789", "Aggiunto al ticket")
    await api.wait_for("sendMessage", where=_to(STAFF, "È 123456789"))
    # L1 escalates to L2; L1 can no longer work it, L2 escalates to L3.
    await _press(api, L1, STAFF, card, "Escala a L2")
    await api.wait_for("editMessageText", where=_to(STAFF, "L2 · open"))
    await _press(api, L1, STAFF, card, "Prendo io")
    await api.wait_for("sendMessage", where=_to(STAFF, "non è di tua competenza"))
    await _press(api, L2, STAFF, card, "Escala a L3")
    await api.wait_for("editMessageText", where=_to(STAFF, "L3 · open"))
    # L3: internal note, then the solution, which goes to the customer.
    await _press(api, L3, STAFF, card, "Nota")
    await api.wait_for("sendMessage", where=_to(STAFF, "Nota interna"))
    await _answer_prompt(api, L3, STAFF, "bug nel controllo 00404", "L3 · open")
    await _press(api, L3, STAFF, card, "Risolvi")
    await api.wait_for("sendMessage", where=_to(STAFF, "Soluzione da inviare"))
    await _answer_prompt(api, L3, STAFF, "Corretto nella 1.2: reinvia.", "resolved")
    solution = await api.wait_for("sendMessage", where=_to(CUSTOMER, "risolto"))
    assert "Corretto nella 1.2" in solution[-1].params["text"]
    await _press(api, L3, STAFF, card, "Chiudi")
    await api.wait_for("editMessageText", where=_to(STAFF, "closed"))
    await _press(api, L3, STAFF, card, "Riapri")
    await api.wait_for("editMessageText", where=_to(STAFF, "L3 · open"))
    # The customer sees their ticket and its public history (no internal note).
    await api.push_text(CUSTOMER, f"/history {tid}")
    (hist,) = await api.wait_for("sendMessage", where=_to(CUSTOMER, f"Ticket #{tid}:"))
    assert "Corretto nella 1.2" in hist.params["text"] and "bug nel" not in hist.params["text"]
    async with sessions() as s:
        kinds = [e.kind for e in await tickets.history(s, tid)]
    assert kinds == [
        "opened",
        "assigned",
        "question",
        "customer-message",
        "escalated",
        "escalated",
        "note",
        "resolved",
        "closed",
        "reopened",
    ]


async def test_sla_alerts_reach_the_staff_group_only_in_desk_hours(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    rome = ZoneInfo("Europe/Rome")
    created = datetime(2026, 6, 3, 9, 0, tzinfo=rome)
    async with sessions() as s, s.begin():
        ch = await tickets.open_ticket(
            s,
            NewTicket(
                origin="telegram",
                subject="urgente",
                description="d",
                priority="urgent",
                requester_id=CUSTOMER,
            ),
            actor="x",
            now=created,
        )
    desk = DeskSettings()
    cal = calendar(desk)
    night = datetime(2026, 6, 3, 22, 0, tzinfo=rome)
    assert await check_sla(sessions, desk, cal, now=night) == 0  # closed: no alert at night
    warn = datetime(2026, 6, 3, 9, 10, tzinfo=rome)  # 20 of 30 min left: warn (30 min margin)
    assert await check_sla(sessions, desk, cal, now=warn) == 1
    late = datetime(2026, 6, 3, 9, 40, tzinfo=rome)
    assert await check_sla(sessions, desk, cal, now=late) == 1  # the breach, once
    assert await check_sla(sessions, desk, cal, now=late) == 0
    await start_bot()
    await api.wait_for("sendMessage", where=_to(STAFF, "⚠️"))
    await api.wait_for("sendMessage", where=_to(STAFF, "🚨"))
    assert ch.ticket.id


async def test_email_requester_is_answered_through_the_outbox(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    now = datetime.now(ZoneInfo("UTC"))
    async with sessions() as s, s.begin():
        ch = await tickets.open_ticket(
            s,
            NewTicket(
                origin="email",
                subject="PEC non arriva",
                description="aiuto",
                requester_email="mario@cliente.it",
                message_id="<orig@cliente.it>",
            ),
            actor="mail:mario@cliente.it",
            now=now,
        )
    tid = ch.ticket.id
    await start_bot()
    card = await _card(api, tid, "L1 · new")
    await _press(api, L1, STAFF, card, "Chiedi al cliente")
    await api.wait_for("sendMessage", where=_to(STAFF, "Domanda per il cliente"))
    await _answer_prompt(api, L1, STAFF, "Quale casella?", "waiting-customer")
    async with sessions() as s:
        (row,) = (await s.execute(select(OutboxItem))).scalars()
        question = next(e for e in await tickets.history(s, tid) if e.kind == "question")
    assert row.channel == "support-mail" and row.recipients == ["mario@cliente.it"]
    assert row.message_id == question.message_id
    assert b"In-Reply-To: <orig@cliente.it>" in row.payload
    assert f"[#{tid}]".encode() in row.payload
