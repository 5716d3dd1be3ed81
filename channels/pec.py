"""PEC channel: SMTP submission to the PEC provider, with the rules PEC adds to plain SMTP.

A PEC provider accepts mail only from the account's own address, and its receipts name our
message by its Message-ID (``X-Riferimento-Message-ID``), so every payload must carry the fixed
Message-ID the outbox stored, and that Message-ID is the provider reference we keep.
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.base import Delivery, Outgoing
from channels.smtp import SmtpChannel


class PecChannel(SmtpChannel):
    """`SmtpChannel` that refuses payloads a PEC provider would reject or we could not track."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`."""
        ok: list[Outgoing] = []
        refused: dict[int, Delivery] = {}
        for item in batch:
            problem = self._problem(item)
            if problem:
                refused[item.outbox_id] = Delivery(item.outbox_id, "failed", detail=problem)
            else:
                ok.append(item)
        sent = {d.outbox_id: d for d in (await super().send(ok) if ok else [])}
        return [refused.get(i.outbox_id) or sent[i.outbox_id] for i in batch]

    def _problem(self, item: Outgoing) -> str | None:
        if not item.message_id:
            return "PEC payload without a fixed Message-ID: receipts could not be matched"
        if self.sender and item.sender and item.sender.lower() != self.sender.lower():
            return f"PEC sender {item.sender} is not the account's address {self.sender}"
        return None
