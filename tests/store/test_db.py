"""SQLite transactions of one process take turns in arrival order (store/db.py `_WriteGate`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store import db


async def test_a_busy_writer_does_not_starve_another(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    stop = asyncio.Event()

    async def busy() -> int:  # takes the lock back as soon as it commits, as the runner does
        rounds = 0
        while not stop.is_set():
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await asyncio.sleep(0.02)
            rounds += 1
        return rounds

    hog = asyncio.create_task(busy())
    await asyncio.sleep(0.1)
    waits = []
    for _ in range(5):
        started = time.monotonic()
        async with engine.begin() as conn:
            waits.append(time.monotonic() - started)
            await conn.execute(text("INSERT INTO t VALUES (2)"))
    stop.set()
    assert await hog > 0
    await engine.dispose()
    # its turn comes after the transaction in progress, not after the busy handler's sleeps
    # lose the race again and again (seconds, before the gate)
    assert max(waits) < 0.5, waits


async def test_every_way_out_of_a_transaction_ends_its_turn(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    with pytest.raises(OperationalError):  # a failed statement, rolled back
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    async with engine.connect() as conn:  # a read, closed without commit
        await conn.execute(text("SELECT count(*) FROM t"))
    sessions = db.session_factory(engine)
    async with sessions() as s:  # an ORM session, autobegun, closed without commit
        await s.execute(text("SELECT 1"))
    async with asyncio.timeout(5):  # nobody still holds a turn
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
    await engine.dispose()


async def test_a_turn_not_given_in_time_is_a_locked_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITE_WAIT_SECONDS", 0.2)
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as holder:
        await holder.execute(text("SELECT 1"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
    await engine.dispose()
