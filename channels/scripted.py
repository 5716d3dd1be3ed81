"""`ScriptedChannel`: answers from a script (fail on cue), for dry runs and failure drills."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Literal

from channels.base import ChannelUnavailable, Delivery, Outgoing

Step = Literal["sent", "retry", "failed", "unavailable"]


class ScriptedChannel:
    """Replies with the next scripted step for each item; ``sent`` once the script runs out."""

    def __init__(self, alias: str, script: Iterable[Step] = ()) -> None:
        self.alias = alias
        self.script: deque[Step] = deque(script)
        self.sent: list[Outgoing] = []

    async def open(self) -> None:
        """See `Channel.open`."""

    async def close(self) -> None:
        """See `Channel.close`."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`."""
        out: list[Delivery] = []
        for item in batch:
            step = self.script.popleft() if self.script else "sent"
            if step == "unavailable":
                raise ChannelUnavailable("scripted outage", partial=out)
            if step == "sent":
                self.sent.append(item)
            out.append(Delivery(item.outbox_id, step, provider_ref=item.message_id, detail=step))
        return out
