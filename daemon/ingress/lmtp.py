"""LMTP (or SMTP) ingress served inside the daemon's own event loop with aiosmtpd.

``handle_DATA`` archives the raw bytes and commits the inbox row before it answers: one ``250``
per recipient after the commit (RFC 2033 §4.2), ``451`` when the store is unavailable, so the
delivering MTA keeps the message and retries. Nothing is acknowledged that is not durable.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from daemon.ingest import Ingestor
from store.db import StoreUnavailable

log = logging.getLogger(__name__)

CRLF = "\r\n"
REPLY_250_QUEUED = "250 2.0.0 Ok: queued as {id}"
REPLY_451_TRY_LATER = "451 4.3.0 Store unavailable, try again later"
REPLY_550_NO_SUCH_USER = "550 5.1.1 No such recipient here"


class IngressHandler:
    """aiosmtpd hooks: check recipients, then store durably before acknowledging."""

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        source: str,
        accept_recipients: Sequence[str] = (),
    ) -> None:
        self._ingestor = ingestor
        self._source = source
        self._accept = {r.lower() for r in accept_recipients}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Refuse unknown recipients early, so the peer can report it (Mailman's 550)."""
        if self._accept and address.lower() not in self._accept:
            return REPLY_550_NO_SUCH_USER
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message, then answer once per recipient (LMTP) or once (SMTP)."""
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only with decode_data=True, which we never set
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            put = await self._ingestor.ingest(
                raw,
                source=self._source,
                envelope_from=envelope.mail_from,
                recipients=envelope.rcpt_tos,
            )
        except StoreUnavailable as exc:
            log.error("%s: store unavailable, answered 451: %s", self._source, exc)
            reply = REPLY_451_TRY_LATER
        else:
            reply = REPLY_250_QUEUED.format(id=put.item_id)
        if self._source == "lmtp":
            return CRLF.join(reply for _ in envelope.rcpt_tos)
        return reply


# Real PEC and SdI mail does not always keep lines under RFC 5321's 1,000 octets (the Aruba
# receipts in shared/ref do not). Refusing it with 500 would bounce certified mail, so the
# ingress takes long lines and leaves the judgement to the pipelines.
_LINE_LIMIT = 1024 * 1024


class _Lmtp(LMTP):
    line_length_limit = _LINE_LIMIT


class _Smtp(SMTP):
    line_length_limit = _LINE_LIMIT


def _authenticator(users: Mapping[str, str]) -> Any:
    encoded = {u.encode(): p.encode() for u, p in users.items()}

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = encoded.get(data.login)
        ok = expected is not None and hmac.compare_digest(expected, data.password)
        return AuthResult(success=ok, handled=False)

    return check


async def serve_ingress(
    handler: IngressHandler,
    *,
    protocol: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    data_size_limit: int,
    tls: ssl.SSLContext | None = None,
    users: Mapping[str, str] | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop``; STARTTLS and AUTH are required whenever ``tls`` is given."""
    secure: dict[str, Any] = {}
    if tls is not None:
        secure = {
            "tls_context": tls,
            "require_starttls": True,
            "auth_required": bool(users),
            "auth_require_tls": True,
            "authenticator": _authenticator(users or {}),
        }
    cls = _Lmtp if protocol == "lmtp" else _Smtp

    def factory() -> SMTP:
        return cls(handler, hostname="pecora", data_size_limit=data_size_limit, **secure)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host, port)
    log.info("%s ingress listening on %s:%d", protocol.upper(), host, port)
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        server.close()  # stop accepting; sessions in progress finish their transaction
        await server.wait_closed()
