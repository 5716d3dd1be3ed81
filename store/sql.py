"""Small SQL helpers that hide the few differences between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT ``values`` unless a unique key already holds them; return True if a row was added.

    ``ON CONFLICT DO NOTHING`` is atomic on both backends, so concurrent ingress of the same
    message (two IMAP fetches, an LMTP retry) can never produce two rows or an error.
    """
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends exist
        raise RuntimeError(f"unsupported database dialect {dialect}")
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)
