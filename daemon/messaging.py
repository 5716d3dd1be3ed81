"""Wiring of mass messaging into a running daemon: the campaign runner, the webhook receiver
and the report poller, built from `Services` and the ``[campaigns]`` settings.

`daemon/main.py` starts ``messaging_tasks(svc, campaigns, stop)`` in its TaskGroup. Until
``Settings`` has a ``campaigns`` field, `campaign_settings` reads the section from the TOML
file itself (and `daemon.messaging_main` runs the daemon with it, for the crash test).
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from channels.http_provider import HttpProviderChannel
from channels.registry import webhook_secrets
from daemon.config import Settings
from daemon.config_campaigns import CampaignSettings, from_mapping
from daemon.messaging_reports import ReportPoller, ReportReceiver
from daemon.runners.campaigns import CampaignRunner
from daemon.services import Services


def split_config(path: Path | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Read a TOML file into (the rest, the ``[campaigns]`` table)."""
    if path is None and (env := os.environ.get("PECORA_CONFIG")):
        path = Path(env)
    if path is None:
        return {}, None
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return data, data.pop("campaigns", None)


def campaign_settings(settings: Settings, path: Path | None = None) -> CampaignSettings:
    """The ``[campaigns]`` settings: from `Settings` once wired, else from the file."""
    wired = getattr(settings, "campaigns", None)
    if isinstance(wired, CampaignSettings):
        return wired
    return from_mapping(split_config(path)[1])


def campaign_runner(svc: Services, cfg: CampaignSettings) -> CampaignRunner:
    """The fan-out runner over the daemon's store, archive and channels."""
    return CampaignRunner(
        svc.sessions,
        svc.archive,
        cfg,
        cfg.aliases(svc.settings.channels),
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
