"""Open the database: async engine and session factory for SQLite (WAL) or PostgreSQL.

SQLite is the embedded default. It is configured for durability (WAL, synchronous=FULL) because
ingress acknowledges mail only after a commit, and every transaction starts with BEGIN IMMEDIATE
so two writers never deadlock on a lock upgrade (SQLITE_BUSY in the middle of a transaction).

SQLite has one writer at a time, and a connection that finds the lock taken sleeps in its busy
handler (1, 2, 5 ... up to 100 ms a time) and tries again: a busy writer that takes the lock
back at once starves the others. Measured on the passive intake bench, the IMAP watcher waited
up to 4 s for its turn while the inbox runner applied batch after batch. So the transactions
of this process queue for their turn on an asyncio lock first (`_WriteGate`, first come first
served, per engine and event loop) and only then BEGIN; SQLite's own lock then only arbitrates
with other processes (the CLI).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

#: How long a transaction waits for its turn, as SQLite's busy_timeout would.
WRITE_WAIT_SECONDS = 60.0


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or written right now; the caller should retry later."""


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` with the per-backend settings pecora relies on."""
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


class _WriteGate:
    """The queue of this process's SQLite transactions: one at a time, in arrival order."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    def enter(self, info: dict[str, Any]) -> None:
        """Wait for our turn (inside SQLAlchemy's greenlet); note it on the connection."""
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            await_only(asyncio.wait_for(lock.acquire(), WRITE_WAIT_SECONDS))
        except TimeoutError as exc:  # what SQLite itself would have said
            raise OperationalError("BEGIN IMMEDIATE", None, Exception(
                "database is locked (no turn within the busy timeout)")) from exc
        info["pecora_write_turn"] = lock

    @staticmethod
    def leave(info: dict[str, Any]) -> None:
        """End the turn held on this connection, if any (idempotent)."""
        lock = info.pop("pecora_write_turn", None)
        if lock is not None:
            lock.release()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine
    gate = _WriteGate()

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so we can issue BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        gate.enter(conn.info)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave(conn.info)
            raise

    # The turn ends with the transaction. (These fire just before the driver's COMMIT or
    # ROLLBACK; the next transaction's BEGIN IMMEDIATE may then wait a few milliseconds in
    # SQLite's busy handler, no longer behind a whole queue of them.) A connection given back
    # to the pool or dropped mid-transaction ends it too.
    @event.listens_for(sync_engine, "commit")
    def _on_commit(conn: Any) -> None:
        gate.leave(conn.info)

    @event.listens_for(sync_engine, "rollback")
    def _on_rollback(conn: Any) -> None:
        gate.leave(conn.info)

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        gate.leave(record.info)

    @event.listens_for(sync_engine, "invalidate")
    def _on_invalidate(_dbapi_conn: Any, record: Any, _exc: Any) -> None:
        gate.leave(record.info)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory: one session per task, objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
