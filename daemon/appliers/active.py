"""Active cycle appliers: SdI notifications about the invoices we sent.

Until the active invoicing cycle records sent invoices, no notification matches one: each is
held (quarantined with the reason) rather than lost.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from handlers.sdi_notifications import RecordSdiNotification
from handlers.work import Effect


@applier(RecordSdiNotification)
async def record_for_sent_invoice(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """Take the notification if it is about a file we sent (none yet: see the docstring)."""
    return False
