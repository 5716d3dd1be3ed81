"""Support mail as a component: pipeline steps + applier on a real store. A mail opens a
ticket, a reply to our question threads into it, a redelivery adds nothing, auto-replies and
a guessed ``[#N]`` from a stranger do not get in."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.apply import ApplyContext, apply
from handlers.desk import PIPELINES
from handlers.desk.mail import SupportDesk
from handlers.mail import prepare
from handlers.registry import PREDICATES
from handlers.run import run_pipeline
from handlers.work import Disposition, Stop, Work
from store import tickets
from store.archive import FilesystemArchive

DESK = SupportDesk("assistenza@pecora.test")
Sessions = async_sessionmaker[AsyncSession]


def mail(sender: str, subject: str, body: str, msgid: str, **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: Mario <{sender}>\r\nTo: assistenza@pecora.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {msgid}\r\n{extra}\r\n{body}\r\n"
    ).encode()


def run(raw: bytes, item: int = 1) -> Work | Stop:
    work = prepare(Work(item, raw, datetime.now(UTC), "lmtp", facts=(DESK,)), max_bytes=10**6)
    assert PREDICATES["support-mail"](work)
    return run_pipeline(PIPELINES["support-mail"], work)


async def file(sessions: Sessions, archive: FilesystemArchive, raw: bytes, item: int) -> None:
    result = run(raw, item)
    assert isinstance(result, Work)
    async with sessions() as s, s.begin():
        await apply(s, result.effects, ApplyContext(item, datetime.now(UTC), archive))


async def test_mail_ticket_and_threaded_reply(
    sessions: Sessions, archive: FilesystemArchive
) -> None:
    await file(sessions, archive, mail("m@c.it", "PEC ferma", "non parte", "<a@c.it>"), 1)
    async with sessions() as s, s.begin():
        (t,) = await tickets.listing(s)
        assert (t.origin, t.requester_email, t.subject) == ("email", "m@c.it", "PEC ferma")
        q = await tickets.ask_customer(s, t.id, "quale casella?", actor="tg:1", now=t.created_at)
        await tickets.set_message_id(s, q.event.id, "<desk.1.2@pecora.test>")
    reply = mail(
        "m@c.it",
        "Re: [#1] PEC ferma",
        "la pec@c.it\r\n\r\n> quale casella?",
        "<b@c.it>",
        In_Reply_To="<desk.1.2@pecora.test>",
    )
    await file(sessions, archive, reply, 2)
    await file(sessions, archive, reply, 3)  # delivered twice
    async with sessions() as s:
        events = await tickets.history(s, t.id)
        again = await tickets.get(s, t.id)
    assert [e.kind for e in events] == ["opened", "question", "customer-message"]
    assert events[-1].body == "la pec@c.it"  # the quoted original is cut
    assert again is not None and again.status == "open"  # the clock runs again


async def test_guessed_tag_from_a_stranger_opens_its_own_ticket(
    sessions: Sessions, archive: FilesystemArchive
) -> None:
    await file(sessions, archive, mail("m@c.it", "uno", "x", "<a@c.it>"), 1)
    await file(sessions, archive, mail("evil@x.it", "Re: [#1] uno", "y", "<e@x.it>"), 2)
    await file(sessions, archive, mail("m@c.it", "Re: [#1] uno", "z", "<c@c.it>"), 3)
    async with sessions() as s:
        rows = await tickets.listing(s)
        first = await tickets.history(s, rows[0].id)
    assert [t.requester_email for t in rows] == ["m@c.it", "evil@x.it"]
    assert [e.kind for e in first] == ["opened", "customer-message"]


def test_auto_replies_and_our_own_mail_are_dropped() -> None:
    auto = run(mail("m@c.it", "Fuori ufficio", "via", "<o@c.it>", Auto_Submitted="auto-replied"))
    assert isinstance(auto, Stop) and auto.disposition is Disposition.DONE
    ours = run(mail("assistenza@pecora.test", "loop", "x", "<l@p>"))
    assert isinstance(ours, Stop) and "our own" in ours.reason


def test_pec_and_other_addresses_are_not_support_mail() -> None:
    raw = mail("m@c.it", "x", "y", "<p@c.it>").replace(
        b"To: assistenza@pecora.test", b"To: fatture@pecora.test"
    )
    work = prepare(Work(1, raw, datetime.now(UTC), "lmtp", facts=(DESK,)), max_bytes=10**6)
    assert not PREDICATES["support-mail"](work)
