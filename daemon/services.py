"""The composition root's parts list: open every service the daemon and the CLI need, once.

No global config and no service locator (the lesson of Mailman's ConfigLayer): `Services` is
built from `Settings` and handed explicitly to whatever needs it.

Two byte stores (see daemon/archive/conservation.py for why): ``archive`` is the operational
content-addressed store (inbox, outbox, events), ``conservation`` the WORM backend of
``[archive]`` where the invoice cycles put archival units under retention (domain.md §6.1).
``archive`` carries ``conservation`` with it, so appliers and the send use-case, which are only
handed ``archive``, reach the right backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.base import Channel
from channels.registry import build_channels
from daemon.archive.conservation import ConservedArchive
from daemon.archive.settings import open_archive
from daemon.config import InboxSettings, Settings
from daemon.deciding import Decider, ProcessDecider, ThreadDecider, auto_workers
from daemon.ingest import Ingestor
from daemon.metrics import Metrics
from daemon.runners.inbox import InboxRunner
from daemon.runners.outbox import OutboxRunner
from store import inbox, migrate, outbox
from store.archive import FilesystemArchive
from store.archive_worm import WormArchive
from store.clock import utcnow
from store.db import create_engine, session_factory

log = logging.getLogger(__name__)


class SchemaOutOfDate(RuntimeError):
    """The database is not at this pecora's schema revision and auto-migration is off."""


@dataclass
class Services:
    """Everything the daemon's tasks share, built once from the settings."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    archive: FilesystemArchive
    conservation: WormArchive
    metrics: Metrics
    ingestor: Ingestor
    channels: dict[str, Channel]
    inbox_runner: InboxRunner
    outbox_runner: OutboxRunner
    inbox_wake: asyncio.Event
    outbox_wake: asyncio.Event


async def prepare_database(engine: AsyncEngine, *, auto_migrate: bool) -> None:
    """Migrate (or, with auto-migration off, refuse to run on a schema that drifted)."""
    if auto_migrate:
        await migrate.upgrade(engine)
    elif not await migrate.is_current(engine):
        current = await migrate.current_revision(engine)
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this pecora needs "
            f"{migrate.head_revision()}: run `pecora db upgrade`"
        )


def _channel_passwords(settings: Settings) -> dict[str, str | None]:
    return {
        alias: cfg.password.resolve() if cfg.password is not None else None
        for alias, cfg in settings.channels.items()
    }


def decider(settings: InboxSettings, facts: tuple[object, ...]) -> Decider:
    """Where the inbox pipelines run: worker processes unless ``decide_workers = 0``."""
    workers = settings.decide_workers
    if workers is None:
        workers = auto_workers()
    if workers == 0:
        return ThreadDecider(facts, max_bytes=settings.max_message_bytes)
    return ProcessDecider(facts, max_bytes=settings.max_message_bytes, workers=workers)


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    migrate_db: bool | None = None,
    extra_channels: dict[str, Channel] | None = None,
    facts: tuple[object, ...] = (),
) -> AsyncIterator[Services]:
    """Open the store, archive, channels and runners; close them on exit."""
    data_dir = settings.daemon.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(settings.database_url())
    inbox_decider = decider(settings.inbox, facts)
    try:
        await prepare_database(
            engine, auto_migrate=settings.daemon.auto_migrate if migrate_db is None else migrate_db
        )
        sessions = session_factory(engine)
        conservation = open_archive(settings, settings.archive)
        archive = ConservedArchive(settings.archive_dir, conservation)
        metrics = Metrics()
        inbox_wake, outbox_wake = asyncio.Event(), asyncio.Event()
        channels = build_channels(settings.channels, _channel_passwords(settings))
        channels.update(extra_channels or {})
        node = settings.daemon.node_name
        services = Services(
            settings=settings,
            engine=engine,
            sessions=sessions,
            archive=archive,
            conservation=conservation,
            metrics=metrics,
            ingestor=Ingestor(sessions, archive, inbox_wake, metrics),
            channels=channels,
            inbox_runner=InboxRunner(
                sessions,
                archive,
                settings.inbox,
                worker=node,
                wake=inbox_wake,
                metrics=metrics,
                decider=inbox_decider,
            ),
            outbox_runner=OutboxRunner(
                sessions,
                channels,
                {alias: cfg.retry for alias, cfg in settings.channels.items()},
                settings.outbox,
                worker=node,
                wake=outbox_wake,
                metrics=metrics,
            ),
            inbox_wake=inbox_wake,
            outbox_wake=outbox_wake,
        )
        metrics.add_gauges(lambda: queue_gauges(sessions))
        yield services
    finally:
        await inbox_decider.close()
        await engine.dispose()


async def queue_gauges(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Queue depths and the oldest queued item's age, read from the store at scrape time."""
    async with sessions() as session:
        inbox_depths = await inbox.depths(session)
        outbox_depths = await outbox.depths(session)
        oldest = await inbox.oldest_queued(session)
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return {
        "inbox_items": {(("state", s.value),): float(n) for s, n in inbox_depths.items()},
        "outbox_items": {(("state", s.value),): float(n) for s, n in outbox_depths.items()},
        "inbox_oldest_queued_age_seconds": {(): age},
    }
