"""Wiring of mass messaging into a running daemon: the campaign runner, the webhook receiver
and the report poller, built from `Services` and the ``[campaigns]`` settings.

`daemon/wiring.py` starts ``messaging_tasks(svc, settings.campaigns, stop)`` in the daemon's
TaskGroup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from channels.http_provider import HttpProviderChannel
from channels.registry import webhook_secrets
from daemon.config_campaigns import CampaignSettings
from daemon.messaging_reports import ReportPoller, ReportReceiver
from daemon.runners.campaigns import CampaignRunner
from daemon.services import Services


def campaign_runner(
    svc: Services, cfg: CampaignSettings, stand_ins: Mapping[str, str] | None = None
) -> CampaignRunner:
    """The fan-out runner over the daemon's store, archive and channels (``stand_ins``: the
    sandbox's channels for what is not configured, when planning outside the daemon)."""
    return CampaignRunner(
        svc.sessions,
        svc.archive,
        cfg,
        {**(stand_ins or {}), **cfg.aliases(svc.settings.channels)},
        metrics=svc.metrics,
        outbox_wake=svc.outbox_wake,
    )


def messaging_tasks(
    svc: Services, cfg: CampaignSettings, stop: asyncio.Event
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """(name, coroutine) of every long-lived messaging task, for the daemon's TaskGroup."""
    if not cfg.enabled:
        return []
    runner = campaign_runner(svc, cfg)
    http = {a: c for a, c in svc.channels.items() if isinstance(c, HttpProviderChannel)}
    tasks: list[tuple[str, Coroutine[Any, Any, None]]] = [("campaigns", runner.run(stop))]
    secrets = webhook_secrets(svc.settings.channels)
    if cfg.webhook_enabled and secrets:
        receiver = ReportReceiver(
            svc.sessions, http, secrets, runner, host=cfg.webhook_host, port=cfg.webhook_port
        )
        tasks.append(("delivery-webhooks", receiver.run(stop)))
    if http:
        poller = ReportPoller(
            svc.sessions,
            http,
            runner,
            quiet_after=cfg.report_poll_after_seconds,
            every=cfg.report_poll_every_seconds,
        )
        tasks.append(("delivery-poller", poller.run(stop)))
    return tasks
