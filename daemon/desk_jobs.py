"""Desk wiring for the daemon: the bot's options and invoice hooks, the desk calendar, and the
SLA check job.

The SLA check runs from the daemon's APScheduler every ``sla_check_seconds``, but acts only
while the desk is open (no alerts at midnight or at weekends, Zammad #4432): it recomputes
every active ticket's clocks from its history and records a warning or a breach once, as a
ticket event. It sends nothing itself: the bot's feed announces those events to the staff
group (jobs that send go through the bot or the outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import BotOptions, InvoiceHooks, SlaText
from daemon.config_bot import BotSettings, DeskSettings
from daemon.config_passive import PassiveSettings, decision_policy
from handlers.desk.mail import SupportDesk
from handlers.desk.sla import (
    Clock,
    ClockState,
    DeskCalendar,
    Sla,
    Targets,
    is_open,
    italian_desk,
    sla,
)
from store import tickets
from store.clock import utcnow
from store.models_bot import Ticket

log = logging.getLogger(__name__)


def calendar(desk: DeskSettings) -> DeskCalendar:
    """Build the desk calendar from the settings."""
    return italian_desk(
        tz=desk.timezone,
        hours=desk.intervals(),
        closures=desk.closures,
        open_days=desk.open_days,
        subdiv=desk.subdivision,
    )


def targets(desk: DeskSettings, priority: str) -> Targets:
    """Return the SLA targets of ``priority``."""
    t = desk.sla.get(priority) or desk.sla["normal"]
    return Targets(
        timedelta(minutes=t.first_response_minutes),
        timedelta(minutes=t.resolution_minutes),
        desk.warn_before,
    )


def ticket_sla(
    desk: DeskSettings,
    cal: DeskCalendar,
    t: Ticket,
    history: Sequence[tuple[datetime, str]],
    now: datetime,
) -> Sla:
    """Compute a ticket's clocks."""
    return sla(
        cal,
        targets(desk, t.priority),
        created_at=t.created_at,
        history=history,
        first_response_at=t.first_response_at,
        now=now,
    )


def sla_text(desk: DeskSettings, cal: DeskCalendar) -> SlaText:
    """Return the one-line SLA summary the bot shows on cards and in /queue."""

    def text(t: Ticket, history: Sequence[tuple[datetime, str]], now: datetime) -> str:
        s = ticket_sla(desk, cal, t, history, now)

        def part(name: str, c: Clock) -> str:
            due = c.due.astimezone(cal.tz).strftime(" entro %d/%m %H:%M") if c.due else ""
            return f"{name} {c.state}{due}"

        return f"{part('risposta', s.first_response)} · {part('risoluzione', s.resolution)}"

    return text


def bot_options(settings: BotSettings) -> BotOptions:
    """Resolve the secrets and build the bot's options (call only when enabled)."""
    assert settings.token is not None
    return BotOptions(
        token=settings.token.resolve(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        mode=settings.mode,
        poll_timeout=settings.poll_timeout,
        webhook_url=settings.webhook_url,
        webhook_secret=settings.webhook_secret.resolve() if settings.webhook_secret else None,
        webhook_host=settings.webhook_host,
        webhook_port=settings.webhook_port,
        approvers_chat_id=settings.approvers_chat_id,
        staff_chat_id=settings.staff_chat_id,
        alerts_chat_id=settings.alerts_chat_id,
        max_retries=settings.max_retries,
        token_ttl=timedelta(days=settings.token_ttl_days),
        support_address=settings.desk.support_address,
        mail_channel=settings.desk.mail_channel,
        feed_seconds=settings.feed_seconds,
    )


class _Archive(Protocol):
    async def get(self, sha256: str) -> bytes: ...


def invoice_hooks(
    settings: BotSettings, passive: PassiveSettings, archive: _Archive
) -> InvoiceHooks:
    """What the bot's invoice feeds need: the decision policy of ``[passive]`` (the bot's
    approvers decide as ``tg:<id>``: list those in ``deciders`` when it is set), the archive
    for the PDF, the desk calendar for reminders, and ``[passive] reminder_days``."""
    cal = calendar(settings.desk)
    return InvoiceHooks(
        policy=decision_policy(passive),
        fetch=archive.get,
        desk_open=lambda now: is_open(cal, now),
        reminder_before=tuple(timedelta(days=d) for d in passive.reminder_days),
        timezone=settings.desk.timezone,
    )


def support_facts(settings: BotSettings) -> tuple[object, ...]:
    """The inbox runner's ``facts=`` for the support-mail route (none without an address)."""
    desk = settings.desk
    if not desk.support_address:
        return ()
    return (SupportDesk(desk.support_address, desk.support_mailbox),)


async def check_sla(
    sessions: async_sessionmaker[AsyncSession],
    desk: DeskSettings,
    cal: DeskCalendar,
    *,
    now: datetime | None = None,
) -> int:
    """Record warnings and breaches due now (only in desk hours); return how many."""
    now = now or utcnow()
    if not is_open(cal, now):
        return 0
    recorded = 0
    async with sessions() as session, session.begin():
        active = await tickets.listing(session, limit=10_000)
        histories = await tickets.status_history(session, [t.id for t in active])
        for t in active:
            s = ticket_sla(desk, cal, t, histories[t.id], now)
            for name, clock in (("first-response", s.first_response), ("resolution", s.resolution)):
                if clock.state not in (ClockState.WARNING, ClockState.BREACHED):
                    continue
                kind = "sla-warning" if clock.state is ClockState.WARNING else "sla-breach"
                label = "risposta" if name == "first-response" else "risoluzione"
                body = (
                    f"SLA {label} ({t.priority}) scade tra "
                    f"{int(clock.remaining.total_seconds() // 60)} min lavorativi"
                    if kind == "sla-warning"
                    else f"SLA {label} ({t.priority}) violato da "
                    f"{int(-clock.remaining.total_seconds() // 60)} min lavorativi"
                )
                # One warning and one breach per clock (and per reopening for resolution).
                key = f"{name}.{kind}.{s.reopens if name == 'resolution' else 0}"
                if await tickets.record_sla(session, t.id, kind, key=key, body=body, now=now):
                    recorded += 1
    if recorded:
        log.info("desk: %d SLA warnings/breaches recorded", recorded)
    return recorded
