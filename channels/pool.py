"""`ChannelPool`: several connections of one channel alias, used side by side.

An SMTP connection carries one transaction at a time, so sending at a concurrency of N needs N
connections. The pool splits a batch over its lanes and runs them concurrently; the outbox
runner can also drive each lane on its own (``lanes``) so that sending and recording overlap.
``rate`` carries the alias's configured limits to the runner, which enforces them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from channels.base import Channel, ChannelUnavailable, Delivery, Outgoing


class ChannelPool:
    """N channels of the same alias behaving as one."""

    def __init__(self, alias: str, lanes: Sequence[Channel], rate: Any = None) -> None:
        if not lanes:
            raise ValueError(f"channel {alias!r}: a pool needs at least one lane")
        self.alias = alias
        self.lanes = list(lanes)
        self.rate = rate

    def __repr__(self) -> str:
        return f"<ChannelPool {self.alias} x{len(self.lanes)}>"

    async def open(self) -> None:
        """See `Channel.open`."""
        await asyncio.gather(*(lane.open() for lane in self.lanes))

    async def close(self) -> None:
        """See `Channel.close`."""
        await asyncio.gather(*(lane.close() for lane in self.lanes))

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`. A lane's outage keeps what the other lanes delivered."""
        n = min(len(self.lanes), len(batch))
        if n <= 1:
            return await self.lanes[0].send(batch) if batch else []
        size = -(-len(batch) // n)
        chunks = [batch[i * size : (i + 1) * size] for i in range(n)]
        results = await asyncio.gather(
            *(lane.send(chunk) for lane, chunk in zip(self.lanes, chunks, strict=False)),
            return_exceptions=True,
        )
        done: list[Delivery] = []
        outage: ChannelUnavailable | None = None
        for result in results:
            if isinstance(result, ChannelUnavailable):
                outage = outage or result
                done += result.partial
            elif isinstance(result, BaseException):
                raise result
            else:
                done += result
        if outage is not None:
            raise ChannelUnavailable(outage.reason, done)
        order = {item.outbox_id: i for i, item in enumerate(batch)}
        return sorted(done, key=lambda d: order[d.outbox_id])
