"""Shared helpers of the messaging tests: a sample Albo, campaigns, runners wired together."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel
from daemon.config import OutboxSettings, RetryPolicy
from daemon.config_campaigns import CampaignSettings
from daemon.metrics import Metrics
from daemon.runners.campaigns import CampaignRunner
from daemon.runners.outbox import OutboxRunner
from handlers.messaging.albo_rows import parse_row
from store import albo, campaigns
from store.archive import Archive
from store.clock import utcnow
from store.models_messaging import CampaignState

SENDER = "albo@pec.ordine.test"
FAST = RetryPolicy(backoff_seconds=[0.0], max_attempts=3, deliver_until_hours=1)


def member_row(n: int, **over: str) -> dict[str, str]:
    """A CSV row for member ``n`` with every channel filled in."""
    row = {
        "member_id": f"M{n:05d}",
        "name": f"Socio {n}",
        "email": f"socio{n}@mail.test",
        "pec": f"socio{n}@pec.test",
        "mobile": f"+39333{n:07d}",
        "fax": f"06{n:07d}",
        "street": f"Via Roma {n}",
        "cap": "00100",
        "city": "Roma",
        "province": "RM",
        "tags": "iscritti",
        "titolo": "Dott.",
    }
    row.update(over)
    return row


async def seed(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[Mapping[str, str]]
) -> None:
    """Import rows into the Albo."""
    async with sessions() as s, s.begin():
        for row in rows:
            await albo.upsert(s, parse_row(row), now=utcnow())


async def new_campaign(
    sessions: async_sessionmaker[AsyncSession],
    channels: Sequence[str],
    *,
    start: bool = True,
    **kw: Any,
) -> int:
    """Create (and start) a campaign."""
    data: dict[str, Any] = {
        "name": f"camp-{'-'.join(channels)}-{utcnow().timestamp()}",
        "subject": "Quota {{ anno }}",
        "body": "Gentile {{ titolo }} {{ name }}, la quota {{ anno }} scade.",
        "channels": tuple(channels),
        "segment": {},
        "sender": SENDER,
    }
    data.update(kw)
    data["body"] = data["body"].replace("{{ anno }}", "2025")
    data["subject"] = data["subject"].replace("{{ anno }}", "2025")
    async with sessions() as s, s.begin():
        cid = await campaigns.create(s, campaigns.NewCampaign(**data), now=utcnow())
        if start:
            await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
    return cid


def runners(
    sessions: async_sessionmaker[AsyncSession],
    archive: Archive,
    channels: Mapping[str, Channel],
    aliases: Mapping[str, str],
    *,
    policy: RetryPolicy = FAST,
    settings: CampaignSettings | None = None,
) -> tuple[CampaignRunner, OutboxRunner]:
    """A campaign runner and an outbox runner over the same store."""
    metrics = Metrics()
    outbox = OutboxRunner(
        sessions,
        channels,
        {a: policy for a in channels},
        OutboxSettings(unavailable_retry_seconds=0.001, batch_size=50),
        worker="test",
        wake=asyncio.Event(),
        metrics=metrics,
    )
    camp = CampaignRunner(
        sessions, archive, settings or CampaignSettings(page_size=7), aliases, metrics=metrics
    )
    return camp, outbox


async def settle(camp: CampaignRunner, outbox: OutboxRunner, rounds: int = 30) -> None:
    """Alternate both runners until neither has anything left."""
    for _ in range(rounds):
        a = await camp.step()
        b = await outbox.run_once()
        if not a and not b:
            await asyncio.sleep(0.01)
            if not await camp.step() and not await outbox.run_once():
                return
