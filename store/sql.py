"""Small SQL helpers that hide the few differences between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
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


async def insert_many(
    session: AsyncSession, model: type[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT ``rows`` into ``model``'s table with one statement (Core executemany).

    Core, not the ORM's bulk insert: that one splits rows whose None-valued columns differ into
    separate statements, down to one per row.
    """
    if rows:
        await session.execute(insert(_table(model)), list(rows))


async def insert_returning_ids(
    session: AsyncSession, model: type[Any], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """INSERT ``rows`` into ``model``'s table in one statement; return their ``id`` in order.

    PostgreSQL: SQLAlchemy orders RETURNING by the parameters (``sort_by_parameter_order``).
    SQLite: that would cost one statement per row, because SQLite does not promise RETURNING
    order; but a multi-row INSERT assigns the rowids of an INTEGER PRIMARY KEY in VALUES order,
    each above every existing one (and the transaction holds the write lock), so the ids
    sorted are in row order.
    """
    if not rows:
        return []
    table = _table(model)
    if session.get_bind().dialect.name == "sqlite":
        result = await session.execute(insert(table).returning(table.c.id), list(rows))
        return sorted(result.scalars())
    result = await session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
    )
    return list(result.scalars())


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
