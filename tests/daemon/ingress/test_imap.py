"""The IMAP watcher against a real Dovecot: sync, IDLE, acknowledgement, outages, leases.

Every test waits on a condition with a deadline, never on a fixed sleep. Tests that take the
``sessions`` fixture run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config import MailboxSettings, SecretRef
from daemon.ingest import ImapMessage, Ingestor
from daemon.ingress.imap import ImapWatcher, backoff_delay
from daemon.ingress.imap_session import parse_fetch, parse_search, uid_set
from store import leases, mailboxes
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.models import InboxItem
from tests.support.dovecot import Dovecot, MailUser, free_port

ALIAS = "pec"
WATCHER_LOG = "daemon.ingress.imap"


def message(n: int, tag: str = "m") -> bytes:
    """A small, unique RFC 5322 message."""
    return (
        f"From: sender@example.test\r\nTo: pec@example.test\r\nSubject: {tag} {n}\r\n"
        f"Message-ID: <{tag}-{n}@example.test>\r\n\r\nbody {n}\r\n"
    ).encode()


def mailbox(
    dovecot: Dovecot, user: MailUser, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> MailboxSettings:
    monkeypatch.setenv(f"PECORA_TEST_IMAP_{user.name}", user.password)
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "plain",
        "username": user.name,
        "password": SecretRef(env=f"PECORA_TEST_IMAP_{user.name}"),
        "batch_size": 10,
        "idle_renew_seconds": 60,
        "poll_seconds": 0.2,
        "backoff_max_seconds": 0.3,
        "connect_timeout": 5,
    }
    values.update(overrides)
    return MailboxSettings(**values)


def watcher(
    settings: MailboxSettings,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    node: str = "node-a",
    **kwargs: Any,
) -> ImapWatcher:
    ingestor = Ingestor(sessions, archive, asyncio.Event())
    return ImapWatcher(ALIAS, settings, ingestor, sessions, node, **kwargs)


@asynccontextmanager
async def running(w: ImapWatcher) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``w`` until the block ends; then stop it and check it returned cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(w.run(stop))
    try:
        yield task
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 10)
        elif not task.cancelled():
            task.result()


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0, what: str = ""
) -> float:
    """Wait until ``check()`` is true; return the seconds it took, fail after ``timeout``."""
    start = time.monotonic()
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what or check}")
        await asyncio.sleep(0.02)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[InboxItem]:
    async with sessions() as session:
        result = await session.execute(select(InboxItem).order_by(InboxItem.id))
        return list(result.scalars())


def has_rows(sessions: async_sessionmaker[AsyncSession], n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(await rows(sessions)) >= n

    return check


# -- pure pieces -------------------------------------------------------------------------------


def test_uid_set_compresses_ranges() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def test_parse_search_ignores_completion_text() -> None:
    assert parse_search([b"2 3 10", b"Search completed (0.001 + 0.000 secs)."]) == [2, 3, 10]
    assert parse_search([b"", b"Search completed (1 secs)."]) == []


def test_parse_fetch_tolerates_odd_shapes() -> None:
    lines = [
        b"1 FETCH (UID 4 BODY[] {5}",
        bytearray(b"hello"),
        b")",
        b"2 FETCH (FLAGS (\\Seen) UID 5)",  # unsolicited flag change: no body
        b"3 FETCH (BODY[] {3}",  # UID after the literal
        bytearray(b"abc"),
        b" UID 6)",
        b'4 FETCH (UID 7 BODY[] "quo\\"ted")',
        b"5 FETCH (UID 8 BODY[] NIL)",
        b"6 FETCH (BODY[] {1}",  # no UID at all: cannot be attributed
        bytearray(b"x"),
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert parse_fetch(lines) == {4: b"hello", 6: b"abc", 7: b'quo"ted', 8: b""}


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (3, 8.0), (20, 30.0)]:
        delays = [backoff_delay(attempt, 30.0) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


# -- against Dovecot ---------------------------------------------------------------------------


async def test_initial_sync_in_batches_then_seen_after_commit(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(25):
        dovecot.save(mail_user, message(n))
    w = watcher(mailbox(dovecot, mail_user, monkeypatch, batch_size=10), sessions, archive)
    async with running(w):
        await eventually(has_rows(sessions, 25), what="25 inbox rows")
        await eventually(
            lambda: all(r"\Seen" in f for f in dovecot.flags(mail_user).values()),
            what="all messages \\Seen",
        )
        items = await rows(sessions)
        assert sorted(i.uid or 0 for i in items) == list(range(1, 26))
        assert {i.uidvalidity for i in items} == {dovecot.uidvalidity(mail_user)}
        assert all([await archive.exists(i.sha256) for i in items])
        assert w.stats.batches == 3  # 10 + 10 + 5
        async with sessions() as session:
            pos = await mailboxes.position(session, ALIAS)
        assert pos is not None and pos.last_uid == 25


async def test_store_unavailable_nothing_acknowledged_then_retried(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WATCHER_LOG)
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive directory should be")  # every put fails
    for n in range(3):
        dovecot.save(mail_user, message(n))
    settings = mailbox(dovecot, mail_user, monkeypatch, processed_folder="Processed")
    w = watcher(settings, sessions, FilesystemArchive(blocker))
    async with running(w):
        await eventually(lambda: w.stats.sessions >= 4, what="several failed attempts")
        assert await rows(sessions) == []
        assert dovecot.count(mail_user) == 3  # nothing moved
        assert all(r"\Seen" not in f for f in dovecot.flags(mail_user).values())
        blocker.unlink()  # the archive can be created again
        await eventually(has_rows(sessions, 3), what="rows after the store came back")
        await eventually(lambda: dovecot.count(mail_user, "Processed") == 3, what="moved")
    assert dovecot.count(mail_user) == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "store unavailable" in warnings[0].getMessage()
    assert sum("recovered" in r.getMessage() for r in caplog.records) == 1


async def test_idle_wakes_up_on_append(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = watcher(mailbox(dovecot, mail_user, monkeypatch), sessions, archive)
    async with running(w):
        await eventually(lambda: w.stats.idles >= 1, what="IDLE")
        await dovecot.append(mail_user, message(1))
        took = await eventually(has_rows(sessions, 1), timeout=5, what="row after APPEND")
        assert took < 2.0
        await eventually(lambda: dovecot.flags(mail_user).get(1) == {r"\Seen"}, what="\\Seen")
    assert w.stats.polls == 0


@pytest.mark.parametrize("hide", [(), ("MOVE",), ("MOVE", "UIDPLUS")])
async def test_move_to_processed_folder(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
    hide: tuple[str, ...],
) -> None:
    """UID MOVE, or COPY + \\Deleted + UID EXPUNGE / EXPUNGE when the server lacks MOVE."""
    for n in range(12):
        dovecot.save(mail_user, message(n))
    settings = mailbox(dovecot, mail_user, monkeypatch, processed_folder="Done/PEC", batch_size=5)
    w = watcher(settings, sessions, archive, ignore_capabilities=hide)
    async with running(w):
        await eventually(has_rows(sessions, 12), what="12 rows")
        await eventually(lambda: dovecot.count(mail_user, "Done/PEC") == 12, what="copied")
        await eventually(lambda: dovecot.count(mail_user) == 0, what="expunged from INBOX")
        await dovecot.append(mail_user, message(99))
        await eventually(has_rows(sessions, 13), what="row 13")
        await eventually(lambda: dovecot.count(mail_user, "Done/PEC") == 13, what="moved 13")
    assert len(await rows(sessions)) == 13


async def test_leftover_acknowledged_after_crash_between_commit_and_move(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Commit happened, the move did not (crash): the next session moves it, no new row."""
    for n in range(2):
        dovecot.save(mail_user, message(n))
    ingestor = Ingestor(sessions, archive, asyncio.Event())
    uv = dovecot.uidvalidity(mail_user)
    await ingestor.ingest_imap(ALIAS, uv, [ImapMessage(1, message(0)), ImapMessage(2, message(1))])
    settings = mailbox(dovecot, mail_user, monkeypatch, processed_folder="Processed")
    w = watcher(settings, sessions, archive)
    async with running(w):
        await eventually(lambda: dovecot.count(mail_user, "Processed") == 2, what="moved")
    assert len(await rows(sessions)) == 2
    assert w.stats.messages == 0


async def test_dovecot_restart_during_idle_loses_nothing(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = watcher(mailbox(dovecot, mail_user, monkeypatch), sessions, archive)
    async with running(w):
        await dovecot.append(mail_user, message(1))
        await eventually(has_rows(sessions, 1), what="first row")
        await eventually(lambda: w.stats.idles >= 1, what="IDLE")
        await asyncio.to_thread(dovecot.stop)
        dovecot.drop_into_maildir(mail_user, message(2))  # delivered while the server is down
        await asyncio.to_thread(dovecot.start)
        await dovecot.append(mail_user, message(3))
        await eventually(has_rows(sessions, 3), timeout=15, what="rows after restart")
        assert w.stats.sessions >= 2
    assert sorted(i.uid or 0 for i in await rows(sessions)) == [1, 2, 3]


async def test_uidvalidity_change_resyncs_without_duplicates(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    dovecot.create_folder(mail_user, "PEC")
    for n in range(3):
        dovecot.save(mail_user, message(n), folder="PEC")
    w = watcher(mailbox(dovecot, mail_user, monkeypatch, folder="PEC"), sessions, archive)
    async with running(w):
        await eventually(has_rows(sessions, 3), what="3 rows")
        old_uv = dovecot.uidvalidity(mail_user, "PEC")
        # The folder is rebuilt: same three messages (UIDs 1..3 again) plus two new ones.
        await asyncio.to_thread(dovecot.recreate_folder, mail_user, "PEC")
        for n in range(5):
            dovecot.save(mail_user, message(n), folder="PEC")
        new_uv = dovecot.uidvalidity(mail_user, "PEC")
        assert new_uv != old_uv
        await eventually(has_rows(sessions, 5), timeout=15, what="2 new rows")

        async def position_is_new() -> bool:
            async with sessions() as session:
                pos = await mailboxes.position(session, ALIAS)
            return pos is not None and pos.uidvalidity == new_uv and pos.last_uid == 5

        await eventually(position_is_new, what="position under the new UIDVALIDITY")
    items = await rows(sessions)
    assert len(items) == 5
    assert sorted(i.deliveries for i in items) == [1, 1, 2, 2, 2]  # old three seen twice
    assert w.stats.uidvalidity_changes == 1
    assert sum("UIDVALIDITY changed" in r.getMessage() for r in caplog.records) == 1


async def test_polling_fallback_without_idle(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = mailbox(dovecot, mail_user, monkeypatch, poll_seconds=0.2)
    w = watcher(settings, sessions, archive, ignore_capabilities={"IDLE"})
    async with running(w):
        await eventually(lambda: w.stats.polls >= 1, what="a poll round")
        await dovecot.append(mail_user, message(1))
        await eventually(has_rows(sessions, 1), timeout=5, what="row by polling")
    assert w.stats.idles == 0


async def test_outage_logged_once_and_recovery_once(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WATCHER_LOG)
    settings = mailbox(dovecot, mail_user, monkeypatch, backoff_max_seconds=0.05)
    w = watcher(settings, sessions, archive)
    await asyncio.to_thread(dovecot.stop)
    try:
        async with running(w):
            await eventually(lambda: w._outage.retries >= 6, what="6 retries")
            async with sessions() as session:
                pos = await mailboxes.position(session, ALIAS)
            assert (
                pos is not None and pos.last_error and "IMAP server unavailable" in pos.last_error
            )
            await asyncio.to_thread(dovecot.start)
            await dovecot.append(mail_user, message(1))
            await eventually(has_rows(sessions, 1), what="row after recovery")
    finally:
        if not dovecot.pid:
            dovecot.start()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert sum("recovered" in r.getMessage() for r in caplog.records) == 1
    async with sessions() as session:
        pos = await mailboxes.position(session, ALIAS)
    assert pos is not None and pos.last_error is None


async def test_connection_refused_port_is_an_outage_not_a_crash(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
    dovecot: Dovecot,
    mail_user: MailUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    settings = mailbox(dovecot, mail_user, monkeypatch, port=free_port(), backoff_max_seconds=0.05)
    w = watcher(settings, sessions, archive)
    async with running(w) as task:
        await eventually(lambda: w._outage.retries >= 10, what="10 retries")
        assert not task.done()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_tls_verifies_the_server_certificate(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    security: str,
) -> None:
    caplog.set_level(logging.WARNING, logger=WATCHER_LOG)
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    dovecot.save(mail_user, message(1))
    untrusted = mailbox(dovecot, mail_user, monkeypatch, security=security, port=port)
    w = watcher(untrusted, sessions, archive)
    async with running(w):  # self-signed and not trusted: refused, retried, no rows
        await eventually(lambda: w._outage.retries >= 2, what="certificate refusals")
    assert await rows(sessions) == []
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.records[0].getMessage()
    trusted = mailbox(
        dovecot, mail_user, monkeypatch, security=security, port=port, ca_file=dovecot.cert
    )
    async with running(watcher(trusted, sessions, archive)):
        await eventually(has_rows(sessions, 1), what="row over TLS")


async def test_odd_message_bytes_are_ingested_as_they_come(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garbage = bytes(range(256)) * 4 + b"\r\n)\r\n* 9 FETCH (UID 1 BODY[] {3}\r\n"
    dovecot.save(mail_user, garbage)
    dovecot.save(mail_user, message(2))
    w = watcher(mailbox(dovecot, mail_user, monkeypatch), sessions, archive)
    async with running(w):
        await eventually(has_rows(sessions, 2), what="both rows")
    stored = {i.uid: await archive.get(i.sha256) for i in await rows(sessions)}
    assert stored[2] == message(2)
    # Dovecot serves bare LF as CRLF and NUL as 0x80 (RFC 3501 forbids NUL in a literal), so
    # the bytes are not identical; what matters is that the protocol-looking text inside the
    # literal did not confuse the parser and the whole body arrived.
    assert b"* 9 FETCH (UID 1 BODY[] {3}" in stored[1]
    assert len(stored[1]) >= len(garbage)


async def test_stop_leaves_idle_promptly_and_releases_the_lease(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = mailbox(dovecot, mail_user, monkeypatch, idle_renew_seconds=600)
    w = watcher(settings, sessions, archive)
    stop = asyncio.Event()
    task = asyncio.create_task(w.run(stop))
    await eventually(lambda: w.stats.idles >= 1, what="IDLE")
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 1.5
    async with sessions() as session:
        assert await leases.holder_of(session, "imap:pec", now=utcnow()) is None


async def test_idle_is_reissued_before_renew_interval(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = mailbox(dovecot, mail_user, monkeypatch, idle_renew_seconds=0.3)
    w = watcher(settings, sessions, archive)
    async with running(w):
        await eventually(lambda: w.stats.idles >= 4, what="IDLE re-issued")
        assert w.stats.sessions == 1  # same connection: DONE then IDLE again
        await dovecot.append(mail_user, message(1))
        await eventually(has_rows(sessions, 1), what="row")


async def test_two_nodes_one_lease_and_takeover(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ttl = timedelta(seconds=1.5)
    settings = mailbox(dovecot, mail_user, monkeypatch)
    a = watcher(settings, sessions, archive, node="node-a", lease_ttl=ttl)
    b = watcher(settings, sessions, archive, node="node-b", lease_ttl=ttl)
    stop = asyncio.Event()
    tasks = {a: asyncio.create_task(a.run(stop)), b: asyncio.create_task(b.run(stop))}
    try:
        await eventually(lambda: a.holding or b.holding, what="one holder")
        holder, other = (a, b) if a.holding else (b, a)
        await eventually(lambda: holder.stats.idles >= 1, what="holder in IDLE")
        # Over three lease periods (several renewals) the other node never watches.
        deadline = time.monotonic() + 3 * ttl.total_seconds()
        while time.monotonic() < deadline:
            assert not other.holding and other.stats.sessions == 0
            await asyncio.sleep(0.05)
        async with sessions() as session:
            assert await leases.holder_of(session, "imap:pec", now=utcnow()) == holder.node_name
        await dovecot.append(mail_user, message(1))
        await eventually(has_rows(sessions, 1), what="row by the holder")

        killed = time.monotonic()
        tasks[holder].cancel()  # a crash: no logout, no lease release
        with pytest.raises(asyncio.CancelledError):
            await tasks[holder]
        took = await eventually(lambda: other.holding, timeout=5, what="takeover")
        assert took <= ttl.total_seconds() + 0.5, took
        await eventually(lambda: other.stats.idles >= 1, what="new holder in IDLE")
        await dovecot.append(mail_user, message(2))
        await eventually(has_rows(sessions, 2), what="row by the new holder")
        assert time.monotonic() - killed < 10
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks.values(), return_exceptions=True), 10)
    items = await rows(sessions)
    assert [i.uid for i in items] == [1, 2] and all(i.deliveries == 1 for i in items)


async def test_lost_lease_stops_watching_then_waits_and_resumes(
    dovecot: Dovecot,
    mail_user: MailUser,
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ttl = timedelta(seconds=1.5)
    w = watcher(mailbox(dovecot, mail_user, monkeypatch), sessions, archive, lease_ttl=ttl)
    async with running(w):
        await eventually(lambda: w.holding and w.stats.idles >= 1, what="watching")
        async with sessions() as session, session.begin():  # an operator hands it elsewhere
            await leases.release(session, "imap:pec", "node-a")
            assert await leases.acquire(session, "imap:pec", "intruder", ttl=ttl, now=utcnow())
        await eventually(lambda: not w.holding, timeout=ttl.total_seconds() + 1, what="stop")
        await dovecot.append(mail_user, message(1))
        sessions_before = w.stats.sessions
        async with sessions() as session, session.begin():
            await leases.release(session, "imap:pec", "intruder")
        await eventually(has_rows(sessions, 1), what="row after the lease came back")
        assert w.holding and w.stats.sessions == sessions_before + 1
