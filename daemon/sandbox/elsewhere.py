"""Every other PEC provider, for the sandbox: certified mail to addresses outside the sandbox.

A new user's Albo holds real PEC addresses (``@pec.ordineavvocati.it``, ``@legalmail.it``...).
In sandbox mode nothing may leave the machine, yet a PEC campaign should behave as it would:
accepted, delivered, with a signed avvenuta-consegna as proof. `OtherProviders` is one sandbox
provider standing in for all of them: it serves any address whose domain is not a sandbox one
(``*.sandbox.test``), opening its mailbox on first delivery, and keeps every message in one
Maildir (`MaildirMailbox`). Unknown addresses at the sandbox's own domains still get the
errore-consegna a real provider sends, so that case can be tried too.
"""

from __future__ import annotations

import asyncio
import mailbox
from dataclasses import dataclass
from pathlib import Path

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import Mailbox
from daemon.sandbox.provider import SandboxProvider

SANDBOX_DOMAIN = "sandbox.test"


@dataclass
class MaildirMailbox:
    """A `Mailbox` kept as a Maildir on disk (readable with any mail client)."""

    path: Path

    async def deliver(self, raw: bytes) -> None:
        """See `Mailbox.deliver`."""
        await asyncio.to_thread(self._add, raw)

    def _add(self, raw: bytes) -> None:
        box = mailbox.Maildir(self.path, create=True)
        try:
            box.add(raw)
        finally:
            box.close()


class OtherProviders(SandboxProvider):
    """Serves every address outside ``*.sandbox.test`` (see the module docstring)."""

    def __init__(self, box: Mailbox, clock: FastClock) -> None:
        super().__init__("altri-gestori.sandbox.test", "Altri gestori PEC (sandbox)", clock=clock)
        self._box = box

    def serves(self, address: str) -> bool:
        """Any address not at a sandbox domain (or already served here)."""
        domain = address.rpartition("@")[2].lower()
        inside = domain == SANDBOX_DOMAIN or domain.endswith("." + SANDBOX_DOMAIN)
        return not inside or super().serves(address)

    async def deliver_here(self, address: str, raw: bytes, envelope: bytes,
                           identificativo: str) -> tuple[str, bytes]:
        """Open the address's mailbox on first delivery, then deliver as any provider."""
        if not super().serves(address):
            self.add_account(address, "", self._box)  # no password: it cannot submit
        return await super().deliver_here(address, raw, envelope, identificativo)
