"""What each feature area adds to the running daemon: pipeline facts, scheduled jobs, tasks.

`daemon/main.py` owns the lifecycle; this module knows which area needs what, so the
lifecycle code stays one screen long. Every job here only enqueues work or wakes a runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon.config import Settings
from daemon.sandbox_mode import SandboxRuntime
from daemon.services import Services
from handlers.formats.trust import TrustStore

log = logging.getLogger(__name__)


def pipeline_facts(settings: Settings, sandbox: SandboxRuntime | None) -> tuple[object, ...]:
    """Configuration facts the inbox pipelines read: trust anchors, PA policy, support desk."""
    from daemon.config_passive import passive_facts
    from daemon.desk_jobs import support_facts
    from handlers.active.verify import SdiTrust

    facts: list[object] = []
    inv = settings.invoicing
    if inv.sdi_signature_policy != "off":
        anchors = [p.read_bytes() for p in inv.sdi_ca_files]
        if sandbox is not None:
            anchors.append(sandbox.world.trust.sdi_ca_pem)
        if anchors:
            policy = "reject" if inv.sdi_signature_policy == "reject" else "warn"
            facts.append(SdiTrust(TrustStore.from_bytes(anchors), policy=policy))
    extra = (sandbox.world.trust.supplier_ca_pem,) if sandbox is not None else ()
    facts.extend(passive_facts(settings.passive, extra_anchors=extra))
    facts.extend(support_facts(settings.bot))
    return tuple(facts)


def add_jobs(scheduler: AsyncIOScheduler, svc: Services) -> None:
    """The invoicing timers and automatic send, passive reminders, and the desk's SLA check."""
    from daemon import desk_jobs, invoicing_jobs, passive_jobs, schemas
    from daemon.invoicing import SendContext, load_signer

    settings = svc.settings
    inv = settings.invoicing
    scheduler.add_job(
        invoicing_jobs.check_timers,
        "interval",
        minutes=inv.schedule.timers_minutes,
        args=(svc.sessions, inv),
        id="invoice-timers",
    )
    if inv.schedule.auto_send:
        sender = inv.sender or settings.sandbox.user_address
        signer = load_signer(inv, sandbox=settings.sandbox.enabled)
        official = schemas.load(settings.daemon.data_dir)
        ctx = SendContext(inv, signer, svc.archive, sender, official)

        async def auto_send() -> None:
            if await invoicing_jobs.auto_send(svc.sessions, ctx):
                svc.outbox_wake.set()

        scheduler.add_job(
            auto_send, "interval", minutes=inv.schedule.auto_send_minutes, id="invoice-auto-send"
        )
    scheduler.add_job(
        passive_jobs.remind_deadlines,
        "interval",
        minutes=15,
        args=(svc.sessions, settings.passive),
        kwargs={"wake": svc.outbox_wake},
        id="passive-reminders",
    )
    cal = desk_jobs.calendar(settings.bot.desk)
    scheduler.add_job(
        desk_jobs.check_sla,
        "interval",
        seconds=settings.bot.sla_check_seconds,
        args=(svc.sessions, settings.bot.desk, cal),
        id="desk-sla",
    )


def area_tasks(svc: Services, stop: asyncio.Event) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """Long-lived tasks of the areas: campaign fan-out and reports, and the bot."""
    from daemon.messaging import messaging_tasks

    tasks = list(messaging_tasks(svc, svc.settings.campaigns, stop))
    if svc.settings.bot.enabled:
        from bot.app import BotRunner
        from daemon import desk_jobs

        cal = desk_jobs.calendar(svc.settings.bot.desk)
        bot = BotRunner(
            svc.sessions,
            desk_jobs.bot_options(svc.settings.bot),
            sla_text=desk_jobs.sla_text(svc.settings.bot.desk, cal),
            invoices=desk_jobs.invoice_hooks(
                svc.settings.bot, svc.settings.passive, svc.archive
            ),
        )
        tasks.append(("bot", bot.run(stop)))
    return tasks
