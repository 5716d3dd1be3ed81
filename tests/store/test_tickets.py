"""Desk and bot store use-cases: a ticket's life, mail threading, users, audit, action tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import action_tokens, bot_users, tickets
from store.action_tokens import Button, Redeemed, Refusal
from store.bot_users import Role
from store.clock import utcnow
from store.tickets import NewTicket, Status, TicketError

Sessions = async_sessionmaker[AsyncSession]


async def test_ticket_full_life(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        opened = await tickets.open_ticket(
            s,
            NewTicket(
                origin="telegram",
                subject="SdI scarto",
                description="help",
                area="active-invoicing",
                requester_id=7,
            ),
            actor="tg:7",
            now=now,
        )
        tid = opened.ticket.id
        await tickets.assign(s, tid, 100, actor="tg:100", now=now)
        await tickets.ask_customer(s, tid, "which invoice?", actor="tg:100", now=now)
        t = await tickets.get(s, tid)
        assert t is not None and t.status == Status.WAITING_CUSTOMER
        assert t.first_response_at == now
        await tickets.customer_message(s, tid, actor="tg:7", body="n. 12", now=now)
        await tickets.escalate(s, tid, actor="tg:100", now=now)
        await tickets.escalate(s, tid, actor="tg:200", now=now)
        with pytest.raises(TicketError, match="already at L3"):
            await tickets.escalate(s, tid, actor="tg:300", now=now)
        await tickets.note(s, tid, "looks like a bug", actor="tg:300", now=now)
        await tickets.resolve(s, tid, "fixed in 1.2", actor="tg:300", now=now)
        await tickets.close(s, tid, actor="tg:300", now=now)
        await tickets.reopen(s, tid, actor="tg:7", reason="again", now=now)
        t = await tickets.get(s, tid)
        assert t is not None and (t.status, t.level, t.assignee_id) == ("open", 3, None)
        kinds = [e.kind for e in await tickets.history(s, tid)]
        public = [e.kind for e in await tickets.history(s, tid, internal=False)]
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
    assert "note" not in public and "escalated" not in public


async def test_mail_threading_and_idempotency(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        new = NewTicket(
            origin="email",
            subject="PEC",
            description="x",
            requester_email="a@b.it",
            message_id="<m1@b.it>",
        )
        first = await tickets.open_ticket(s, new, actor="mail:a@b.it", now=now)
        again = await tickets.open_ticket(s, new, actor="mail:a@b.it", now=now)
        assert first.created and not again.created and again.ticket.id == first.ticket.id
        assert await tickets.thread_of(s, ["<nope@x>", "<m1@b.it>"]) == first.ticket.id
        await tickets.customer_message(
            s, first.ticket.id, actor="mail:a@b.it", body="more", message_id="<m2@b.it>", now=now
        )
        await tickets.customer_message(
            s, first.ticket.id, actor="mail:a@b.it", body="more", message_id="<m2@b.it>", now=now
        )
        assert len(await tickets.history(s, first.ticket.id)) == 2
        assert await tickets.thread_ids(s, first.ticket.id) == ["<m1@b.it>", "<m2@b.it>"]


async def test_sla_events_are_recorded_once(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        t = await tickets.open_ticket(
            s, NewTicket(origin="telegram", subject="s", description="d"), actor="x", now=now
        )
        assert await tickets.record_sla(s, t.ticket.id, "sla-warning", key="fr", body="", now=now)
        assert not await tickets.record_sla(
            s, t.ticket.id, "sla-warning", key="fr", body="", now=now
        )
        pending = await tickets.unannounced(s)
        assert [e.kind for e in pending] == ["opened", "sla-warning"]
        for e in pending:
            await tickets.mark_announced(s, e.id, now=now)
        assert await tickets.unannounced(s) == []


async def test_users_roles_and_audit(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        await bot_users.upsert(s, 1, name="Ada", roles=[Role.SUPPORT_L2], now=now)
        await bot_users.upsert(s, 2, name="Bob", roles=["admin"], active=False, now=now)
        assert await bot_users.roles_of(s, 1) == {"support-l2"}
        assert await bot_users.roles_of(s, 2) == frozenset()  # disabled: no roles at all
        assert await bot_users.roles_of(s, 3) == frozenset()
        assert bot_users.support_level(["support-l2"]) == 2
        assert bot_users.support_level(["admin"]) == 3
        await bot_users.audit(
            s, telegram_id=3, chat_id=3, action="/status", outcome="refused", now=now
        )
        assert [a.outcome for a in await bot_users.audit_trail(s, telegram_id=3)] == ["refused"]


async def test_action_tokens(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        await bot_users.upsert(s, 1, name="Ada", roles=[Role.APPROVER], now=now)
        await bot_users.upsert(s, 2, name="Bob", roles=[Role.OPERATOR], now=now)
        ok, ko = await action_tokens.issue(
            s,
            [Button("OK", "accept", "invoice:9"), Button("KO", "refuse", "invoice:9")],
            role=Role.APPROVER,
            chat_id=-100,
            ttl=timedelta(hours=1),
            now=now,
        )
        assert all(len(b.data.encode()) <= 64 for b in (ok, ko))
        assert await action_tokens.redeem(s, ok.data, user_id=2, chat_id=-100, now=now) is (
            Refusal.NOT_YOURS
        )
        assert await action_tokens.redeem(s, ok.data, user_id=1, chat_id=555, now=now) is (
            Refusal.WRONG_CHAT
        )
        got = await action_tokens.redeem(s, ok.data, user_id=1, chat_id=-100, now=now)
        assert isinstance(got, Redeemed) and (got.verb, got.object_ref) == ("accept", "invoice:9")
        # the double click, and the sibling button of the same card
        assert await action_tokens.redeem(s, ok.data, user_id=1, chat_id=-100, now=now) is (
            Refusal.USED
        )
        assert await action_tokens.redeem(s, ko.data, user_id=1, chat_id=-100, now=now) is (
            Refusal.USED
        )
        assert await action_tokens.redeem(s, "t:forged", user_id=1, chat_id=-100, now=now) is (
            Refusal.UNKNOWN
        )
        (late,) = await action_tokens.issue(
            s, [Button("x", "x", "y")], user_id=1, chat_id=None, ttl=timedelta(seconds=1), now=now
        )
        later = now + timedelta(seconds=2)
        assert await action_tokens.redeem(s, late.data, user_id=1, chat_id=9, now=later) is (
            Refusal.EXPIRED
        )
        assert await action_tokens.purge(s, older_than=later) == 1
