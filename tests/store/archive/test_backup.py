"""Backup → wipe → restore on SQLite and PostgreSQL: the restored store verifies against the
archive, finds its units, and a 91-day-old backup was pruned (issue 7 §6)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from daemon.archive.units import archive_unit
from daemon.archive.verify import verify_archive
from store import backup, migrate
from store.archive_search import search
from store.archive_worm import RetainedFilesystemArchive
from store.db import create_engine, session_factory
from tests.conftest import reset_database
from tests.support.archive_data import NOW, sample_unit


async def test_backup_wipe_restore_round_trip(db_url: str, tmp_path: Path) -> None:
    await reset_database(db_url)
    engine = create_engine(db_url)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    worm = RetainedFilesystemArchive(tmp_path / "archive")  # survives: it is not the data dir
    async with sessions() as s, s.begin():
        for n in range(3):
            await archive_unit(s, worm, sample_unit(n), now=NOW)
    root = tmp_path / "backups"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old = await backup.backup_now(engine, db_url, root, now=now - dt.timedelta(days=91))
    recent = await backup.backup_now(engine, db_url, root, now=now - dt.timedelta(days=89))
    fresh = await backup.backup_now(engine, db_url, root, now=now)
    await engine.dispose()
    assert backup.check(fresh) == [] and fresh.engine == make_url(db_url).get_backend_name()
    with gzip.open(fresh.path / backup.INDEX, "rt") as fh:
        index = json.load(fh)
    assert len(index["chain"]) == 12 and len(index["units"]) == 3

    assert backup.prune(root, now=now) == [old.name]
    assert [b.name for b in backup.list_backups(root)] == [recent.name, fresh.name]

    # wipe: the data dir (SQLite file) or the whole PostgreSQL schema is gone
    if db_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{make_url(db_url).database}{suffix}").unlink(missing_ok=True)
    else:
        await reset_database(db_url)
    await backup.restore(fresh, db_url)

    engine = create_engine(db_url)
    try:
        assert await migrate.is_current(engine)
        async with session_factory(engine)() as s:
            report = await verify_archive(s, worm)
            hits = await search(s, name_terms=["rossi"])
        assert report.ok and report.units == 3, report.problems
        assert len(hits) == 3
        with pytest.raises(backup.BackupError, match=r"(empty|exists)"):
            await backup.restore(fresh, db_url)  # never over a live database
    finally:
        await engine.dispose()


async def test_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pecora.db'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    made = await backup.backup_now(engine, url, tmp_path / "b", now=NOW)
    await engine.dispose()
    path = made.path / "db.sqlite3.gz"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    target = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'pecora.db'}"
    with pytest.raises(backup.BackupError, match=r"damaged files db\.sqlite3\.gz"):
        await backup.restore(made, target)
    assert not (tmp_path / "restored" / "pecora.db").exists()
