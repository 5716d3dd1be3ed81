"""Shared fixtures: a migrated database on every backend under test, and an archive.

Store-level tests run on SQLite always and on PostgreSQL when ``PECORA_TEST_PG_URL`` is set
(scripts/test.sh starts a throw-away cluster and sets it). Under ``CI=true`` a missing
PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store import migrate
from store.archive import FilesystemArchive
from store.db import create_engine, session_factory
from tests.support.dovecot import dovecot, mail_user

__all__ = ["archive", "db_url", "dovecot", "engine", "mail_user", "sessions"]

PG_URL = os.environ.get("PECORA_TEST_PG_URL")


def _backends() -> list[str]:
    return ["sqlite", "postgresql"]


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL per backend; PostgreSQL skips (fails in CI) when not configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("PECORA_TEST_PG_URL is not set under CI: PostgreSQL tests must run")
        pytest.skip("PECORA_TEST_PG_URL not set (run through scripts/test.sh)")
    return PG_URL


async def reset_database(url: str) -> None:
    """Empty a PostgreSQL test database (SQLite test databases are fresh files)."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database."""
    await reset_database(db_url)
    eng = create_engine(db_url)
    await migrate.upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory over the test database."""
    return session_factory(engine)


@pytest.fixture
def archive(tmp_path: Path) -> FilesystemArchive:
    """An empty filesystem archive."""
    return FilesystemArchive(tmp_path / "archive")
