"""Store PEC provider receipts (the fallback: cycles that own the sent message come first).

A cycle that sent the message (an invoice, a campaign delivery) registers its own applier for
`RecordPecReceipt`: it records the receipt with `store.receipts.record` and moves its own state.
This one records receipts nobody else took, so none is ever dropped.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from handlers.pec_receipts import RecordPecReceipt
from handlers.work import Effect
from store import receipts


@applier(RecordPecReceipt, fallback=True)
async def record_pec_receipt(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """See the module docstring."""
    assert isinstance(effect, RecordPecReceipt)
    if ctx.inbox_id is None:
        raise ValueError("a PEC receipt is always applied for an inbox item")
    await receipts.record(
        session,
        inbox_id=ctx.inbox_id,
        receipt_type=effect.receipt_type,
        ref_message_id=effect.ref_message_id,
        recipient=effect.recipient,
        error=effect.error,
        now=ctx.now,
    )
    return True
