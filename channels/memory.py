"""Channels that send nothing: `MemoryChannel` records (dry runs, tests), like Django's locmem."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence

from channels.base import Delivery, Outgoing


class MemoryChannel:
    """Accepts everything and keeps what it was given in ``sent``."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.sent: list[Outgoing] = []
        self.opened = 0

    async def open(self) -> None:
        """See `Channel.open`."""
        self.opened += 1

    async def close(self) -> None:
        """See `Channel.close`."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`. Parses each payload as mail so malformed bytes still fail here."""
        out = []
        for item in batch:
            msg = email.message_from_bytes(item.payload, policy=email.policy.compat32)
            if not msg.keys():
                out.append(Delivery(item.outbox_id, "failed", detail="payload is not a message"))
                continue
            self.sent.append(item)
            out.append(
                Delivery(item.outbox_id, "sent", provider_ref=item.message_id, detail="memory")
            )
        return out
