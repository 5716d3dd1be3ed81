"""The channel contract: what the outbox runner hands a channel and what it gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One final payload to send: the bytes and the Message-ID never change between tries."""

    outbox_id: int
    sender: str | None
    recipients: tuple[str, ...]
    payload: bytes
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one `Outgoing` (cf. Mailman's temporary/permanent split)."""

    outbox_id: int
    status: Literal["sent", "retry", "failed"]
    provider_ref: str | None = None
    detail: str = ""


@dataclass
class ChannelUnavailable(Exception):
    """The channel cannot be reached: keep the (rest of the) batch queued, count no attempt.

    ``partial`` holds the deliveries that did complete before the connection was lost, so the
    runner records them instead of sending them again.
    """

    reason: str
    partial: list[Delivery] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason


class Channel(Protocol):
    """A way to send payloads, configured by alias."""

    alias: str

    async def open(self) -> None:
        """Connect (raise `ChannelUnavailable` when the peer cannot be reached)."""
        ...

    async def close(self) -> None:
        """Disconnect; never raises."""
        ...

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """Send each item; return one `Delivery` per item, in order."""
        ...
