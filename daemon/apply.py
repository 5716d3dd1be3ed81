"""Apply a pipeline's effects to the store, inside the caller's transaction (the imperative shell).

Each effect type maps to store calls here and nowhere else. An effect with no mapping is a
programming error: it raises, the transaction rolls back, and the item is shunted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.pec_receipts import RecordPecReceipt
from handlers.work import Effect
from store import outbox
from store.models import PecReceipt


def _message_id_forms(message_id: str) -> tuple[str, ...]:
    bare = message_id.strip().strip("<>")
    return (f"<{bare}>", bare)


async def _record_pec_receipt(
    session: AsyncSession, effect: RecordPecReceipt, *, inbox_id: int, now: datetime
) -> None:
    outbox_id = None
    if effect.ref_message_id:
        for form in _message_id_forms(effect.ref_message_id):
            item = await outbox.by_message_id(session, form)
            if item is not None:
                outbox_id = item.id
                break
    session.add(
        PecReceipt(
            inbox_id=inbox_id,
            outbox_id=outbox_id,
            receipt_type=effect.receipt_type,
            ref_message_id=effect.ref_message_id,
            recipient=effect.recipient,
            error=effect.error,
            received_at=now,
        )
    )


async def apply(
    session: AsyncSession, effects: tuple[Effect, ...], *, inbox_id: int, now: datetime
) -> None:
    """Apply every effect in order; unknown effect types raise `TypeError`."""
    for effect in effects:
        if isinstance(effect, RecordPecReceipt):
            await _record_pec_receipt(session, effect, inbox_id=inbox_id, now=now)
        else:
            raise TypeError(f"no store mapping for effect {type(effect).__name__}")
    await session.flush()
