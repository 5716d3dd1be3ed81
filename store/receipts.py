"""PEC provider receipts: store one, linked to the outbox item whose Message-ID it names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from store import outbox
from store.models import OutboxItem, PecReceipt


def _message_id_forms(message_id: str) -> tuple[str, ...]:
    bare = message_id.strip().strip("<>")
    return (f"<{bare}>", bare)


async def sent_item(session: AsyncSession, ref_message_id: str | None) -> OutboxItem | None:
    """Return the outbox item a receipt refers to (Message-ID with or without brackets)."""
    if not ref_message_id:
        return None
    for form in _message_id_forms(ref_message_id):
        item = await outbox.by_message_id(session, form)
        if item is not None:
            return item
    return None


async def record(
    session: AsyncSession,
    *,
    inbox_id: int,
    receipt_type: str,
    ref_message_id: str | None,
    recipient: str | None,
    error: str | None,
    now: datetime,
) -> PecReceipt:
    """Insert the receipt; an unknown reference is kept with no outbox link (never dropped)."""
    item = await sent_item(session, ref_message_id)
    receipt = PecReceipt(
        inbox_id=inbox_id,
        outbox_id=item.id if item else None,
        receipt_type=receipt_type,
        ref_message_id=ref_message_id,
        recipient=recipient,
        error=error,
        received_at=now,
    )
    session.add(receipt)
    await session.flush()
    return receipt
