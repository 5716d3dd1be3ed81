"""`pecora run`: one TaskGroup, one stop event, a grace period, and crash-only on bugs.

Every long-lived task is created here. SIGTERM sets ``stop``: ingress stops accepting, runners
finish the item in hand, and whatever is still running after the grace period is cancelled. A
task that dies unexpectedly cancels its siblings and the process exits non-zero, so systemd
restarts it and startup recovery takes over.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon import systemd
from daemon.config import Settings
from daemon.ingress.lmtp import IngressHandler, serve_ingress
from daemon.metrics import serve_metrics
from daemon.sandbox_mode import BANNER, build_sandbox
from daemon.services import Services, open_services
from daemon.waiting import wait_any
from daemon.wiring import add_jobs, area_tasks, pipeline_facts
from handlers import routes

log = logging.getLogger(__name__)


def _listener_tls(settings: Settings) -> ssl.SSLContext | None:
    cfg = settings.lmtp
    if cfg.tls_cert is None or cfg.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    return ctx


async def _grace(stop: asyncio.Event, tasks: list[asyncio.Task[Any]], seconds: float) -> None:
    await stop.wait()
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        log.warning("grace period over: cancelling %s", task.get_name())
        task.cancel()


async def _watchdog(svc: Services, stop: asyncio.Event) -> None:
    interval = systemd.watchdog_interval()
    if interval is None:
        return
    while not stop.is_set():
        stale = svc.metrics.stale_runners(max_age=interval * 2)
        if stale:  # a wedged runner: let systemd's watchdog restart us
            log.error("runners not reporting: %s; not petting the watchdog", ", ".join(stale))
        else:
            systemd.notify("WATCHDOG=1")
        await wait_any(stop, timeout=interval)


def _scheduler(svc: Services) -> AsyncIOScheduler:
    """Periodic jobs; they only requeue or wake runners, nothing durable lives here."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def recover_stale() -> None:
        await svc.inbox_runner.recover()
        if await svc.outbox_runner.recover():
            svc.outbox_wake.set()
        svc.inbox_wake.set()

    scheduler.add_job(recover_stale, "interval", minutes=1, id="recover-stale-claims")
    _archive_jobs(scheduler, svc)
    add_jobs(scheduler, svc)
    return scheduler


def _archive_jobs(scheduler: AsyncIOScheduler, svc: Services) -> None:
    """Close yesterday's pacchetto di versamento, then back up and prune (domain.md §6)."""
    from daemon.archive.jobs import build_daily_package, daily_backup

    settings, cfg = svc.settings, svc.settings.archive
    if cfg.signing_key is not None:  # a PdV index is signed with the conservation key
        scheduler.add_job(
            build_daily_package,
            "cron",
            hour=0,
            minute=15,
            args=(svc.sessions, svc.conservation, cfg),
            id="archive-daily-package",
        )
    else:
        log.warning("archive.signing_key not set: daily pacchetti di versamento are not closed")
    scheduler.add_job(
        daily_backup,
        "cron",
        hour=2,
        minute=0,
        args=(svc.engine, settings.database_url(), cfg.backups(settings)),
        kwargs={"keep_days": cfg.backup_keep_days},
        id="daily-backup",
    )


def _imap_watchers(svc: Services) -> list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]]:
    """One watcher per enabled mailbox (each one leases its mailbox, so one node watches it)."""
    if not svc.settings.mailboxes:
        return []
    from datetime import timedelta

    from daemon.ingress.imap import ImapWatcher

    daemon = svc.settings.daemon
    return [
        ImapWatcher(
            alias,
            cfg,
            svc.ingestor,
            svc.sessions,
            daemon.node_name,
            lease_ttl=timedelta(seconds=daemon.lease_seconds),
        ).run
        for alias, cfg in svc.settings.mailboxes.items()
        if cfg.enabled
    ]


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    install_signals: bool = True,
) -> int:
    """Run the daemon until ``stop`` (or SIGTERM/SIGINT); return the process exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    routes.check()  # a broken routing table is a startup error, not a runtime surprise
    exit_code = 0
    sandbox = build_sandbox(settings) if settings.sandbox.enabled else None
    if sandbox is not None:  # the campaign channels' stand-ins join the configuration
        settings = sandbox.messaging.apply(settings, sandbox.channel.alias)
    extra = {sandbox.channel.alias: sandbox.channel} if sandbox else {}
    facts = pipeline_facts(settings, sandbox)
    async with open_services(settings, extra_channels=extra, facts=facts) as svc:
        await svc.inbox_runner.recover()
        await svc.outbox_runner.recover()
        lmtp_up = asyncio.Event()
        scheduler = _scheduler(svc)
        log.info(
            "pecora starting: node %s, data dir %s, database %s",
            settings.daemon.node_name,
            settings.daemon.data_dir,
            svc.engine.url.render_as_string(hide_password=True),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tasks: list[asyncio.Task[Any]] = []

                def start(coro: Coroutine[Any, Any, None], name: str) -> None:
                    tasks.append(tg.create_task(coro, name=name))

                if settings.lmtp.enabled:
                    users = {u: ref.resolve() for u, ref in settings.lmtp.auth_users.items()}
                    handler = IngressHandler(
                        svc.ingestor,
                        source=settings.lmtp.protocol,
                        accept_recipients=settings.lmtp.accept_recipients,
                    )
                    start(
                        serve_ingress(
                            handler,
                            protocol=settings.lmtp.protocol,
                            host=settings.lmtp.host,
                            port=settings.lmtp.port,
                            stop=stop,
                            data_size_limit=settings.lmtp.data_size_limit,
                            tls=_listener_tls(settings),
                            users=users,
                            started=lmtp_up,
                        ),
                        "ingress",
                    )
                else:
                    lmtp_up.set()
                sandbox_up, messaging_up = asyncio.Event(), asyncio.Event()
                if sandbox is not None:
                    log.warning(BANNER)
                    start(
                        sandbox.world.serve(
                            settings.sandbox.host, settings.sandbox.smtp_port, stop, sandbox_up
                        ),
                        "sandbox",
                    )
                    start(sandbox.messaging.serve(stop, messaging_up), "sandbox-messaging")
                else:
                    sandbox_up.set()
                    messaging_up.set()
                for i, watch in enumerate(_imap_watchers(svc)):
                    start(watch(stop), f"imap-{i}")
                start(svc.inbox_runner.run(stop), "inbox-runner")
                for name, coro in area_tasks(svc, stop):
                    start(coro, name)
                start(svc.outbox_runner.run(stop), "outbox-runner")
                if settings.metrics.enabled:
                    start(
                        serve_metrics(
                            svc.metrics, settings.metrics.host, settings.metrics.port, stop
                        ),
                        "metrics",
                    )
                if settings.daemon.watchdog:
                    start(_watchdog(svc, stop), "watchdog")
                tg.create_task(_grace(stop, tasks, settings.daemon.grace_seconds), name="grace")
                await wait_any(lmtp_up, stop, timeout=30)
                await wait_any(sandbox_up, stop, timeout=30)
                await wait_any(messaging_up, stop, timeout=30)
                scheduler.start()
                systemd.notify("READY=1")
                log.info("pecora ready")
                if ready is not None:
                    ready.set()
        except* Exception:
            log.exception("a daemon task failed; exiting so the service manager restarts us")
            exit_code = 1
        finally:
            systemd.notify("STOPPING=1")
            if scheduler.running:
                scheduler.shutdown(wait=False)
    log.info("pecora stopped")
    return exit_code
