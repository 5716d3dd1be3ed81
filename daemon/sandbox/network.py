"""The sandbox's PEC world: mailboxes by address, and the contract between its actors.

The *provider* (`daemon/sandbox/provider.py`) accepts submissions, issues receipts and carries
certified mail to the recipient's mailbox, or to an `Endpoint` (the simulated SdI owns every
``sdiNN@pec.fatturapa.it``). Actors that send certified mail themselves (SdI, the simulated
supplier) do it through `PecNetwork.send`, exactly as a real PEC user would.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` (loopback) that was free a moment ago."""
    return free_ports(host, 1)[0]


def free_ports(host: str, count: int, avoid: Collection[int] = ()) -> list[int]:
    """``count`` distinct TCP ports on ``host`` that were free a moment ago, none in ``avoid``.

    Every socket stays bound until all are picked: released one by one, the kernel may hand
    the same port out twice. ``avoid``: ports the configuration names but nobody has bound yet
    (free to the kernel, so it may offer them too).
    """
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket()
            socks.append(sock)
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                ports.append(port)
        return ports
    finally:
        for sock in socks:
            sock.close()


class Mailbox(Protocol):
    """Where mail for one sandbox address is put (pecora's LMTP, a Dovecot folder, memory)."""

    async def deliver(self, raw: bytes) -> None:
        """Store ``raw`` in the mailbox; raise on failure (the provider then reports it)."""
        ...


class Endpoint(Protocol):
    """An actor that receives certified mail addressed to it (the simulated SdI)."""

    def accepts(self, address: str) -> bool:
        """Tell whether ``address`` belongs to this endpoint."""
        ...

    async def receive(self, address: str, original: bytes, envelope: bytes) -> None:
        """Take a certified message: the sender's original bytes and the transport envelope."""
        ...


class PecNetwork(Protocol):
    """Certified sending for sandbox actors (what their own PEC provider does for them)."""

    async def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """Submit ``raw`` as ``sender``; receipts go to ``sender``'s mailbox, if it has one."""
        ...


@dataclass
class MemoryMailbox:
    """A `Mailbox` that keeps messages in a list (tests, dry runs)."""

    messages: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, raw: bytes) -> None:
        """See `Mailbox.deliver`."""
        self.messages.append(raw)
        self.arrived.set()


@dataclass
class LmtpMailbox:
    """A `Mailbox` that delivers over LMTP (pecora's own ingress, or Dovecot's LMTP).

    The stdlib client runs in a thread: one recipient per delivery, so its single-reply DATA
    handling is exact (RFC 2033 replies once per recipient).
    """

    host: str
    port: int
    rcpt: str

    async def deliver(self, raw: bytes) -> None:
        """See `Mailbox.deliver`; an LMTP refusal raises `smtplib.SMTPException`."""
        await asyncio.to_thread(self._deliver_blocking, raw)

    def _deliver_blocking(self, raw: bytes) -> None:
        import smtplib

        with smtplib.LMTP(self.host, self.port, timeout=30) as client:
            client.sendmail("posta-certificata@sandbox.pec.test", [self.rcpt], raw)


@dataclass
class ImapMailbox:
    """A `Mailbox` that APPENDs into an IMAP folder (a Dovecot mailbox pecora watches)."""

    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"

    async def deliver(self, raw: bytes) -> None:
        """See `Mailbox.deliver`; a refused APPEND raises `RuntimeError`."""
        import aioimaplib

        client = aioimaplib.IMAP4(self.host, self.port, timeout=30)
        await client.wait_hello_from_server()
        try:
            if (await client.login(self.user, self.password)).result != "OK":
                raise RuntimeError(f"IMAP login refused for {self.user}")
            response = await client.append(raw, mailbox=self.folder)
            if response.result != "OK":
                raise RuntimeError(f"IMAP APPEND refused: {response.lines}")
        finally:
            await client.logout()
