"""Scheduled jobs of the active cycle: timers and alerts, and the automatic send.

`check_timers` (every few minutes) brings each current file's state up to date with its outbox
row (handed to the provider, or given up), then raises the alerts `handlers.active.alerts.due`
decides, each once per file (the store remembers them, so a restart does not repeat one):
to the log always, as an event in the invoice history, and as an e-mail through the outbox when
``[invoicing.alerts] email_to`` is set. `auto_send` sends the drafts created with
``auto_send = true``, one transaction each. Nothing durable lives in the scheduler.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config_invoicing import InvoicingSettings
from daemon.invoicing import InvoiceError, SendContext, send_invoice
from handlers.active import alerts as pure_alerts
from handlers.active.mail import alert_message
from handlers.active.states import Event, State, advance
from store import invoice_tracking as tracking
from store import invoices, outbox
from store.clock import utcnow
from store.models import OutboxState
from store.models_active import InvoiceState, InvoiceTransmission

log = logging.getLogger("pecora.invoicing")


def thresholds(cfg: InvoicingSettings) -> pure_alerts.Thresholds:
    """The timer thresholds of ``[invoicing.alerts]``."""
    a = cfg.alerts
    return pure_alerts.Thresholds(
        pec_acceptance=timedelta(minutes=a.pec_acceptance_minutes),
        sdi_answer=timedelta(days=a.sdi_answer_days),
        pa_outcome=timedelta(days=a.pa_outcome_days),
    )


async def _sync_outbox(session: AsyncSession, tx: InvoiceTransmission,
                       state: OutboxState | None, when: datetime | None, detail: str | None,
                       pa: bool, now: datetime) -> None:
    event = {OutboxState.SENT: Event.SUBMITTED, OutboxState.FAILED: Event.SUBMIT_FAILED}.get(
        state) if state else None
    if event is None:
        return
    current = State(tx.state.value)
    target = advance(current, event, pa=pa)
    if event is Event.SUBMITTED and tx.submitted_at is None:
        tx.submitted_at = when or now
    if target is None:
        return
    await tracking.add_event(
        session, invoice_id=tx.invoice_id, transmission_id=tx.id,
        dedupe_key=f"op:{event.value}:{tx.id}", source="op", kind=event.value, detail=detail,
        from_state=current.value, to_state=target.value, occurred_at=when or now, now=now)
    await tracking.move(session, tx, InvoiceState(target.value), at=now)


async def check_timers(sessions: async_sessionmaker[AsyncSession], cfg: InvoicingSettings, *,
                       now: datetime | None = None) -> list[pure_alerts.Alert]:
    """See the module docstring; return the alerts raised by this run."""
    now = now or utcnow()
    raised: list[pure_alerts.Alert] = []
    async with sessions() as session, session.begin():
        for tx, invoice, item in await tracking.watched(session):
            if item is not None:
                await _sync_outbox(session, tx, item.state, item.sent_at, item.last_error,
                                   invoice.pa, now)
            watched = pure_alerts.Watched(
                file_name=tx.file_name, numero=invoice.numero, state=State(tx.state.value),
                pa=invoice.pa, created_at=tx.created_at, submitted_at=tx.submitted_at,
                pec_accepted_at=tx.pec_accepted_at, answered_at=tx.answered_at,
                delivered_at=tx.delivered_at)
            done = await tracking.raised(session, tx.id)
            for alert in pure_alerts.due(watched, now, thresholds(cfg)):
                if alert.kind in done or not await tracking.raise_alert(
                        session, tx.id, alert.kind, alert.message, now=now):
                    continue
                raised.append(alert)
                log.warning("invoice alert: %s", alert.message,
                            extra={"alert": alert.kind, "invoice": invoice.id})
                await tracking.add_event(
                    session, invoice_id=invoice.id, transmission_id=tx.id,
                    dedupe_key=f"timer:{tx.id}:{alert.kind}", source="timer",
                    kind=f"alert:{alert.kind}"[:40], detail=alert.message, occurred_at=now,
                    now=now)
                await _mail(session, cfg, tx.id, alert, now)
    return raised


async def _mail(session: AsyncSession, cfg: InvoicingSettings, tx_id: int,
                alert: pure_alerts.Alert, now: datetime) -> None:
    a = cfg.alerts
    if not a.email_to:
        return
    sender = a.sender or "pecora@localhost"
    message_id = f"<alert.{tx_id}.{secrets.token_hex(6)}@{sender.rpartition('@')[2]}>"
    raw = alert_message(sender=sender, to=", ".join(a.email_to),
                        subject=f"[pecora] {alert.message[:120]}", body=alert.message + "\n",
                        message_id=message_id, date=now)
    await outbox.enqueue(session, outbox.NewOutgoing(
        channel=a.channel, payload=raw, recipients=tuple(a.email_to),
        idempotency_key=f"invoice-alert:{tx_id}:{alert.kind}", sender=sender,
        message_id=message_id, subject_ref=f"invoice-alert:{tx_id}"), now=now)


async def auto_send(sessions: async_sessionmaker[AsyncSession], ctx: SendContext, *,
                    now: datetime | None = None) -> int:
    """Send the drafts marked ``auto_send``; return how many were queued."""
    async with sessions() as session:
        rows = await invoices.listing(session, states=[InvoiceState.DRAFT], auto_send=True,
                                      limit=ctx.cfg.schedule.auto_send_batch)
    sent = 0
    for row in reversed(rows):  # oldest first: numbers go out in order
        try:
            async with sessions() as session, session.begin():
                await send_invoice(session, row.invoice.id, ctx, now=now or utcnow())
            sent += 1
        except InvoiceError as exc:
            log.error("automatic send of invoice %s stopped: %s", row.invoice.numero, exc)
    return sent
