"""Delivery reports of the HTTP providers: a webhook receiver and a poller, one recorder.

The receiver (aiohttp on loopback, ``POST /webhooks/<alias>``) checks the HMAC signature with
the channel's ``webhook_secret`` before reading anything, records every event under a dedupe
key (provider id, status, timestamp: reports are at-least-once and out of order) and answers
200 only after the commit, so a provider retries what we did not keep. The poller asks the
provider about deliveries that stayed quiet, for when webhooks are lost or not configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import ChannelUnavailable
from channels.http_provider import SIGNATURE_HEADER, HttpProviderChannel, StatusEvent, verify
from daemon.runners.campaigns import CampaignRunner
from daemon.waiting import wait_any
from handlers.messaging import states
from store import campaigns
from store.clock import utcnow
from store.models_messaging import CampaignDelivery

log = logging.getLogger(__name__)


def _when(text: str, default: datetime) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return value if value.tzinfo else default


async def record_reports(
    session: AsyncSession,
    alias: str,
    events: list[StatusEvent],
    *,
    source: str,
    now: datetime,
) -> tuple[int, list[CampaignDelivery]]:
    """Record provider events; return how many matched a delivery and the ones now failed."""
    matched, failed = 0, []
    for ev in events:
        delivery = await campaigns.find_delivery(
            session, key=ev.reference, alias=alias, ref=ev.provider_ref
        )
        if delivery is None:
            log.warning("%s report for unknown submission %s", alias, ev.provider_ref)
            continue
        matched += 1
        ident = ev.provider_ref or ev.reference
        new = await campaigns.record_event(
            session,
            delivery,
            ev.status,
            source=source,
            dedupe_key=f"{alias}:{ident}:{ev.status}:{ev.occurred_at}",
            occurred_at=_when(ev.occurred_at, now),
            now=now,
            advance=states.advance,
            detail=f"{source}: {ev.status}",
            provider_ref=ev.provider_ref,
            payload=ev.raw,
        )
        if new == states.FAILED:
            failed.append(delivery)
    return matched, failed


class ReportReceiver:
    """The webhook endpoint of every HTTP provider channel with a ``webhook_secret``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, HttpProviderChannel],
        secrets: Mapping[str, str],
        runner: CampaignRunner,
        *,
        host: str = "127.0.0.1",
        port: int = 8089,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._secrets = secrets
        self._runner = runner
        self.host, self.port = host, port
        self.started = asyncio.Event()
        self.app = web.Application(client_max_size=5 * 1024 * 1024)
        self.app.router.add_post("/webhooks/{alias}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Authenticate, parse, record, then acknowledge."""
        alias = request.match_info["alias"]
        channel, secret = self._channels.get(alias), self._secrets.get(alias)
        if channel is None or secret is None:
            return web.json_response({"error": "unknown channel"}, status=404)
        body = await request.read()
        if not verify(secret, request.headers.get(SIGNATURE_HEADER), body):
            log.warning("%s: webhook with a bad or stale signature refused", alias)
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            events = channel.parse_callback(body)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"unreadable report: {exc}"}, status=400)
        now = utcnow()
        async with self._sessions() as session, session.begin():
            matched, failed = await record_reports(
                session, alias, events, source="webhook", now=now
            )
            await self._runner.fallback(session, failed, now)
        return web.json_response({"received": len(events), "matched": matched})

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop``."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        if self.port == 0 and site._server is not None:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.started.set()
        log.info("delivery-report webhooks on http://%s:%d/webhooks/<alias>", self.host, self.port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


class ReportPoller:
    """Asks providers about submissions that have been quiet too long."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, HttpProviderChannel],
        runner: CampaignRunner,
        *,
        quiet_after: float,
        every: float,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._runner = runner
        self._quiet = timedelta(seconds=quiet_after)
        self._every = every

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``every`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.poll_once()
            except ChannelUnavailable as exc:
                log.warning("polling delivery reports: %s", exc)
            await wait_any(stop, timeout=self._every)

    async def poll_once(self) -> int:
        """Poll each quiet delivery once; return how many were asked about."""
        now = utcnow()
        async with self._sessions() as session:
            quiet = await campaigns.to_poll(
                session, list(self._channels), older_than=now - self._quiet
            )
        for delivery, ref in quiet:
            events = await self._channels[delivery.alias or ""].poll(ref)
            async with self._sessions() as session, session.begin():
                row = await session.get(CampaignDelivery, delivery.id)
                assert row is not None
                _, failed = await record_reports(
                    session, delivery.alias or "", events, source="poll", now=utcnow()
                )
                await self._runner.fallback(session, failed, utcnow())
                await campaigns.touch(session, [delivery.id], now=utcnow())
        return len(quiet)
