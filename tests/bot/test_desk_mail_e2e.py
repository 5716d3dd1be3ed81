"""An e-mail ticket end to end through the real daemon: a support mail delivered over LMTP
becomes a ticket (``support-mail`` route), the staff's question is threaded by its Message-ID,
the customer's reply (over LMTP again) lands in the same ticket, and a redelivery adds nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from store import tickets
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState
from store.models_bot import Ticket
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.lmtp import deliver

DESK = "assistenza@pecora.test"


async def lmtp(port: int, raw: bytes) -> list[int]:
    # The stdlib client blocks: off the loop, where the daemon's LMTP server runs.
    return await asyncio.to_thread(deliver, port, raw, [DESK], "mario@cliente.it")


def mail(subject: str, body: str, msgid: str, **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (f"From: Mario Rossi <mario@cliente.it>\r\nTo: {DESK}\r\nSubject: {subject}\r\n"
            f"Message-ID: {msgid}\r\nDate: Thu, 05 Mar 2026 10:00:00 +0100\r\n{extra}\r\n"
            f"{body}\r\n").encode()


async def test_support_mail_opens_a_ticket_and_the_reply_threads_into_it(tmp_path: Path
                                                                         ) -> None:
    settings = daemon_settings(
        tmp_path, bot={"desk": {"support_address": DESK, "mail_channel": "support-mail"}})
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)

    async def done(n: int) -> list[InboxItem] | None:
        async with sessions() as s:
            items = list((await s.execute(select(InboxItem).order_by(InboxItem.id))).scalars())
        finished = [i for i in items if i.state not in (InboxState.QUEUED, InboxState.CLAIMED)]
        return items if len(finished) >= n else None

    try:
        async with running(settings):
            port = settings.lmtp.port
            first = mail("La PEC non parte", "Da ieri non invio fatture.", "<m1@cliente.it>")
            assert await lmtp(port, first) == [250]
            items = await wait_for(lambda: done(1), timeout=20)
            assert [(i.route, i.state) for i in items] == [("support-mail", InboxState.DONE)]
            async with sessions() as s, s.begin():
                (t,) = await tickets.listing(s)
                assert (t.origin, t.requester_email, t.subject) == (
                    "email", "mario@cliente.it", "La PEC non parte")
                q = await tickets.ask_customer(s, t.id, "Quale casella PEC usa?", actor="tg:21",
                                               now=t.created_at)
                await tickets.set_message_id(s, q.event.id, "<desk.q1@pecora.test>")
            reply = mail(f"Re: [#{t.id}] La PEC non parte",
                         "fatture@pec.cliente.it\r\n\r\n> Quale casella PEC usa?",
                         "<m2@cliente.it>", In_Reply_To="<desk.q1@pecora.test>",
                         References="<m1@cliente.it> <desk.q1@pecora.test>")
            assert await lmtp(port, reply) == [250]
            await wait_for(lambda: done(2), timeout=20)
            # The same mail again (an MTA retry): the inbox may keep it as a duplicate, and
            # the ticket must not change either way.
            assert await lmtp(port, reply) == [250]
            await asyncio.sleep(1.0)
            await wait_for(lambda: done(2), timeout=20)
            async with sessions() as s:
                tickets_now = list((await s.execute(select(Ticket))).scalars())
                events = await tickets.history(s, t.id)
    finally:
        await engine.dispose()
    assert [x.id for x in tickets_now] == [t.id]  # the reply opened no second ticket
    kinds = [e.kind for e in events]
    assert kinds == ["opened", "question", "customer-message"]
    answer = events[-1]
    assert answer.body.strip() == "fatture@pec.cliente.it"  # the quote is stripped
    assert answer.message_id == "<m2@cliente.it>" and answer.actor == "mail:mario@cliente.it"
    assert tickets_now[0].status != "waiting-customer"  # the answer resumes the SLA clock
