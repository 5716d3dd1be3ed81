"""Store PEC provider receipts, linked to the outbox item whose Message-ID they name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from handlers.pec_receipts import RecordPecReceipt
from handlers.work import Effect
from store import outbox
from store.models import PecReceipt


def _message_id_forms(message_id: str) -> tuple[str, ...]:
    bare = message_id.strip().strip("<>")
    return (f"<{bare}>", bare)


@applier(RecordPecReceipt)
async def record_pec_receipt(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Insert the receipt; an unknown reference is kept with no outbox link (never dropped)."""
    assert isinstance(effect, RecordPecReceipt)
    if ctx.inbox_id is None:
        raise ValueError("a PEC receipt is always applied for an inbox item")
    outbox_id = None
    if effect.ref_message_id:
        for form in _message_id_forms(effect.ref_message_id):
            item = await outbox.by_message_id(session, form)
            if item is not None:
                outbox_id = item.id
                break
    session.add(
        PecReceipt(
            inbox_id=ctx.inbox_id,
            outbox_id=outbox_id,
            receipt_type=effect.receipt_type,
            ref_message_id=effect.ref_message_id,
            recipient=effect.recipient,
            error=effect.error,
            received_at=ctx.now,
        )
    )
    return True
