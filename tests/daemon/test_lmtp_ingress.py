"""LMTP ingress through the real daemon: 250 per recipient after commit, 451 on store failure,
and bad input kept raw and quarantined while the daemon keeps running."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from daemon.config import Settings
from daemon.ingest import Ingestor
from daemon.ingress.lmtp import IngressHandler
from store.archive import FilesystemArchive, sha256_hex
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.lmtp import deliver

GOOD = b"From: a@pec.test\r\nTo: b@pec.test\r\nSubject: hi\r\nMessage-ID: <1@t>\r\n\r\nhello\r\n"


def _lmtp_send(port: int, raw: bytes, rcpts: list[str]) -> list[int]:
    return deliver(port, raw, rcpts)


async def _items(settings: Settings) -> list[InboxItem]:
    engine = create_engine(settings.database_url())
    try:
        async with session_factory(engine)() as s:
            return list((await s.execute(select(InboxItem).order_by(InboxItem.id))).scalars())
    finally:
        await engine.dispose()


async def test_lmtp_accepts_after_commit_and_processes(tmp_path: Path, db_url: str) -> None:
    from tests.conftest import reset_database

    await reset_database(db_url)
    settings = daemon_settings(tmp_path, db_url)
    async with running(settings):
        refused = await asyncio.to_thread(
            _lmtp_send, settings.lmtp.port, GOOD, ["pec@org.test", "other@org.test"]
        )
        assert refused == [250, 250]  # one reply per recipient (RFC 2033)
        items = await _items(settings)  # committed before the 250 came back
        assert len(items) == 1
        assert items[0].recipients == ["pec@org.test", "other@org.test"]
        archive = FilesystemArchive(settings.archive_dir)
        assert await archive.get(items[0].sha256) == GOOD  # kept raw, byte for byte

        async def processed() -> bool:
            # claimed is not an outcome either: the decision is committed after it
            state = (await _items(settings))[0].state
            return state not in (InboxState.QUEUED, InboxState.CLAIMED)

        await wait_for(processed)
        item = (await _items(settings))[0]
        assert item.state is InboxState.QUARANTINED
        assert item.route == "unknown"


BAD = {
    "no-body": b"From: a@b\r\nSubject: x\r\n\r\n",
    "random": bytes(range(256)) * 3,
    "nul": b"From: a@b\r\nSubject: x\r\n\r\nbo\x00dy\r\n",
    "crlf-injection": b"From: a@b\r\nSubject: x\rBcc: victim@c\r\n\r\nbody\r\n",
}


async def test_bad_input_is_kept_and_quarantined(tmp_path: Path) -> None:
    settings = daemon_settings(
        tmp_path,
        lmtp={"data_size_limit": 64 * 1024 * 1024},
        inbox={"max_message_bytes": 30 * 1024 * 1024},
    )
    big = b"From: a@b\r\nSubject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 40_000  # ~40 MB
    async with running(settings):
        for raw in [*BAD.values(), big]:
            assert await asyncio.to_thread(_lmtp_send, settings.lmtp.port, raw, ["p@o.test"]) == [
                250
            ]

        async def all_done() -> list[InboxItem] | None:
            items = await _items(settings)
            return items if all(i.state is InboxState.QUARANTINED for i in items) else None

        items = await wait_for(all_done, timeout=60)
        # and the daemon still takes good mail afterwards
        assert await asyncio.to_thread(_lmtp_send, settings.lmtp.port, GOOD, ["p@o.test"]) == [250]
    assert len(items) == 5
    assert all(i.state is InboxState.QUARANTINED for i in items), [(i.id, i.reason) for i in items]
    reasons = [i.reason or "" for i in items]
    assert "no body" in reasons[0]
    assert "NUL" in reasons[2]
    assert "bare CR" in reasons[3]
    assert "oversize" in reasons[4]
    archive = FilesystemArchive(settings.archive_dir)
    assert await archive.get(items[4].sha256) == big
    assert items[4].sha256 == sha256_hex(big)


class _Envelope:
    def __init__(self, raw: bytes, rcpts: list[str]) -> None:
        self.original_content = raw
        self.mail_from = "a@b"
        self.rcpt_tos = rcpts


async def test_store_unavailable_answers_451_per_recipient(
    tmp_path: Path, sessions: object
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive directory should be")
    ingestor = Ingestor(sessions, FilesystemArchive(blocker / "archive"), asyncio.Event())  # type: ignore[arg-type]
    handler = IngressHandler(ingestor, source="lmtp")
    reply = await handler.handle_DATA(None, None, _Envelope(GOOD, ["x@y", "z@y"]))  # type: ignore[arg-type]
    assert reply.split("\r\n") == ["451 4.3.0 Store unavailable, try again later"] * 2


async def test_unknown_recipient_is_refused_early(tmp_path: Path) -> None:
    settings = daemon_settings(tmp_path, lmtp={"accept_recipients": ["pec@org.test"]})
    async with running(settings):
        codes = await asyncio.to_thread(
            _lmtp_send, settings.lmtp.port, GOOD, ["nobody@org.test", "pec@org.test"]
        )
        assert codes == [550, 250]
    assert [i.recipients for i in await _items(settings)] == [["pec@org.test"]]


async def test_smtp_off_loopback_style_requires_starttls_and_auth(tmp_path: Path) -> None:
    import smtplib
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    (tmp_path / "mta.pw").write_text("mta-secret\n")
    settings = daemon_settings(
        tmp_path,
        lmtp={
            "protocol": "smtp",
            "tls_cert": str(tmp_path / "cert.pem"),
            "tls_key": str(tmp_path / "key.pem"),
            "auth_users": {"mta": {"file": str(tmp_path / "mta.pw")}},
        },
    )
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)

    def attempt(starttls: bool, password: str | None) -> int:
        with smtplib.SMTP("localhost", settings.lmtp.port, timeout=10) as client:
            client.ehlo()
            if starttls:
                client.starttls(context=client_tls)
                client.ehlo()
            if password is not None:
                try:
                    client.login("mta", password)
                except smtplib.SMTPAuthenticationError as exc:
                    return exc.smtp_code
            try:
                client.sendmail("a@b", ["c@d"], GOOD)
            except smtplib.SMTPException as exc:
                return getattr(exc, "smtp_code", 0) or 530
            return 250

    async with running(settings):
        assert await asyncio.to_thread(attempt, False, None) == 530  # no STARTTLS: refused
        assert await asyncio.to_thread(attempt, True, None) == 530  # no AUTH: refused
        assert await asyncio.to_thread(attempt, True, "wrong") == 535
        assert await asyncio.to_thread(attempt, True, "mta-secret") == 250
    items = await _items(settings)
    assert len(items) == 1
    assert items[0].source == "smtp"
