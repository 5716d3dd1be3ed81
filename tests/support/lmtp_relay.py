"""A store-and-forward LMTP relay on loopback: the mail queue between a PEC provider and
pecora's LMTP ingress.

In production the provider's mail reaches pecora through an MTA (or a mailbox) that keeps it
while pecora is down. The standalone sandbox delivers straight over LMTP and drops a receipt
it cannot deliver, so a test that kills pecora puts this relay in between: it always accepts
(250) and forwards each message to the target port in order, retrying until it is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from aiosmtpd.lmtp import LMTP

from tests.support.lmtp import deliver


class _Queueing:
    def __init__(self, relay: LmtpRelay) -> None:
        self._relay = relay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        self._relay.queue.append((list(envelope.rcpt_tos), bytes(raw)))
        self._relay.accepted += 1
        self._relay.wake.set()
        return "250 2.0.0 queued"


class _Lmtp(LMTP):
    line_length_limit = 1024 * 1024  # PEC mail may carry long lines (daemon.ingress.lmtp)


class LmtpRelay:
    """Accept on a free loopback port; forward to ``target_port`` (see the module docstring)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.queue: deque[tuple[list[str], bytes]] = deque()
        self.wake = asyncio.Event()
        self.accepted = 0
        self.forwarded = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen and start forwarding."""
        handler = _Queueing(self)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Lmtp(handler, hostname="relay", data_size_limit=64 * 2**20), "127.0.0.1", 0
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._task = asyncio.create_task(self._forward(), name="lmtp-relay")

    async def _forward(self) -> None:
        while True:
            if not self.queue:
                self.wake.clear()
                await self.wake.wait()
                continue
            rcpts, raw = self.queue[0]
            try:
                codes = await asyncio.to_thread(deliver, self.target_port, raw, rcpts)
            except OSError:  # pecora is down (or was killed mid-delivery): try again
                await asyncio.sleep(0.05)
                continue
            if any(c != 250 for c in codes):
                await asyncio.sleep(0.05)  # a temporary refusal: keep it, in order
                continue
            self.queue.popleft()
            self.forwarded += 1

    async def close(self) -> None:
        """Stop listening and forwarding (what is still queued is dropped)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
