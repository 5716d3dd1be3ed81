"""Schema migrations: bring a database to the newest revision, or tell whether it is behind."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_SCRIPTS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> frozenset[str]:
    """Return the newest revision of each branch shipped with this pecora.

    Feature areas branch from a common base (one migration line each), so the schema can have
    several heads; they are merged by a merge revision when that is convenient.
    """
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if not heads:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return frozenset(heads)


def head_revision() -> str:
    """Return the heads as one printable string (sorted, comma-separated)."""
    return ",".join(sorted(head_revisions()))


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    """Return the revisions the database is at (empty for an empty database)."""
    async with engine.connect() as conn:
        return frozenset(
            await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
        )


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the database's revisions as one printable string, or None when empty."""
    return ",".join(sorted(await current_revisions(engine))) or None


#: Key of the PostgreSQL advisory lock held while migrating ("pecora" in ASCII).
_MIGRATION_LOCK = 0x7065636F7261


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Apply every pending migration, in one transaction.

    Several nodes may start at once on an empty PostgreSQL: an advisory lock makes the others
    wait, and then find nothing left to do, instead of racing to create the same tables.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        await conn.run_sync(lambda c: command.upgrade(_config(c), revision))


async def is_current(engine: AsyncEngine) -> bool:
    """Tell whether the database is at the newest revisions (refuse to run on drift)."""
    return await current_revisions(engine) == head_revisions()
