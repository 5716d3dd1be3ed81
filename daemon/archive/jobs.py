"""The daily conservazione jobs the daemon's scheduler runs: close a PdV, back up, prune.

Each job opens its own session and transaction (one unit of work per run) and logs one line
of outcome. They are idempotent: a PdV only takes units not yet packaged, and a backup is
named by its timestamp.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daemon.archive.packages import PackageInfo, build_package
from daemon.archive.settings import ArchiveSettings
from store import backup
from store.archive import Archive
from store.clock import utcnow

log = logging.getLogger(__name__)


async def build_daily_package(
    sessions: async_sessionmaker[AsyncSession],
    archive: Archive,
    cfg: ArchiveSettings,
    *,
    now: dt.datetime | None = None,
) -> list[PackageInfo]:
    """Close the PdV(s) of the units archived before today 00:00 UTC (batches of max_units)."""
    now = now or utcnow()
    midnight = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    signer = cfg.signer()
    closed: list[PackageInfo] = []
    while True:
        async with sessions() as session, session.begin():
            info = await build_package(session, archive, signer, cfg.agents(), now=now,
                                       until=midnight, max_units=cfg.package_max_units)
        if info is None:
            break
        log.info("archive: closed %s with %d units (%d files)", info.key, info.units, info.files)
        closed.append(info)
    return closed


async def daily_backup(
    engine: AsyncEngine, url: str, root: Path, *, keep_days: int = backup.KEEP_DAYS,
    now: dt.datetime | None = None,
) -> backup.BackupInfo:
    """Back up the database and the archive index, then prune backups past ``keep_days``."""
    now = now or utcnow()
    made = await backup.backup_now(engine, url, root, now=now)
    pruned = backup.prune(root, now=now, keep_days=keep_days)
    log.info("backup: %s (%d bytes); pruned %s", made.name, made.size, ", ".join(pruned) or "-")
    return made
