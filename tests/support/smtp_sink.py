"""A real SMTP server on loopback (aiosmtpd, STARTTLS + AUTH required) for channel tests.

Replies can be scripted per message (``script``: a list of SMTP reply strings used for DATA,
in order) or per recipient (``refuse``: address -> reply), which is how tests inject 4xx and 5xx.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = "sender@pec.test", "s3cret-pw"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    authenticated: bool


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    refuse: dict[str, str] = field(default_factory=dict)
    connections: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.script:
            reply = self.script.popleft()
            if not reply.startswith("250"):
                return reply
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                server.transport.get_extra_info("sslcontext") is not None,
                bool(session.authenticated),
            )
        )
        return "250 2.0.0 queued"


class SmtpSink:
    """Serve `SinkHandler` on 127.0.0.1 inside the running loop."""

    def __init__(self, ca: trustme.CA) -> None:
        self.ca = ca
        self.handler = SinkHandler()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._tls)
        self._server: asyncio.Server | None = None
        self.port = 0

    def _protocol(self) -> SMTP:
        self.handler.connections += 1

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                USER.encode(),
                PASSWORD.encode(),
            )
            return AuthResult(success=ok, handled=False)

        return SMTP(
            self.handler,
            hostname="sink.test",
            tls_context=self._tls,
            require_starttls=True,
            authenticator=auth,
            auth_required=True,
            auth_require_tls=True,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
