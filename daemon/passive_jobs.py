"""Scheduled jobs of passive invoicing: reminders before the 15-day EC deadline.

A PA that lets the window pass loses its say: SdI sends DT and accepts no EC (domain.md §3.3).
`remind_deadlines` finds PA invoices still to review whose deadline is within a configured
threshold, logs a warning and, when a channel is configured, enqueues a reminder mail; each
(invoice, threshold) is recorded so a restart or a second node never repeats it.

Wiring (daemon/main.py `_scheduler`)::

    from daemon.passive_jobs import remind_deadlines
    scheduler.add_job(remind_deadlines, "interval", minutes=15, id="passive-reminders",
                      args=(svc.sessions, svc.settings.passive), kwargs={"wake": svc.outbox_wake})
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config_passive import PassiveSettings
from handlers.passive.ec_mail import build_reminder_mail
from store import outbox
from store.clock import utcnow
from store.passive_queries import mark_reminded, reminders_due

log = logging.getLogger(__name__)


async def remind_deadlines(
    sessions: async_sessionmaker[AsyncSession],
    settings: PassiveSettings,
    *,
    now: datetime | None = None,
    wake: asyncio.Event | None = None,
) -> int:
    """Send the reminders that are due; return how many."""
    now = now or utcnow()
    thresholds = [timedelta(days=d) for d in settings.reminder_days]
    sent = 0
    async with sessions() as session, session.begin():
        for due in await reminders_due(session, now=now, before=thresholds):
            inv, file = due.invoice, due.file
            assert file.deadline is not None
            label = f"#{inv.id} {inv.seller_name} n. {inv.numero} del {inv.data.isoformat()}"
            log.warning("passive invoice %s: EC deadline %s (%s left), still to review",
                        label, file.deadline.isoformat(timespec="minutes"), due.kind)
            outbox_id = None
            sender = settings.reminder_sender or file.our_address
            if settings.reminder_channel and settings.reminder_to and sender:
                key = f"passive-reminder:{inv.id}:{due.kind}"
                payload, mid = build_reminder_mail(
                    sender=sender, to=tuple(settings.reminder_to), invoice=label,
                    deadline=file.deadline, left=due.kind, key=key, when=now)
                outbox_id = await outbox.enqueue(session, outbox.NewOutgoing(
                    channel=settings.reminder_channel, payload=payload,
                    recipients=tuple(settings.reminder_to), idempotency_key=key,
                    message_id=mid, subject_ref=f"passive-invoice:{inv.id}"), now=now)
            await mark_reminded(session, inv.id, due.kind, outbox_id=outbox_id, now=now)
            sent += 1
    if sent and wake is not None:
        wake.set()
    return sent
