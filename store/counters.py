"""Named counters that only go up: each value is handed out once, even if its use fails later.

SdI refuses a file name it has seen before (code 00002), also after a rejection, so file
progressives come from here and are never given back. Allocation is one atomic UPDATE in the
caller's transaction; a rolled-back transaction gives the value back, which is safe because
nothing was sent under it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Counter
from store.sql import insert_ignore


async def allocate(session: AsyncSession, name: str, *, start: int = 1) -> int:
    """Return the next value of counter ``name`` (``start`` for a new counter)."""
    await insert_ignore(session, Counter.__table__, {"name": name, "last_value": start - 1})  # type: ignore[arg-type]
    result = await session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(last_value=Counter.last_value + 1)
        .returning(Counter.last_value)
    )
    return int(result.scalar_one())


async def peek(session: AsyncSession, name: str) -> int | None:
    """Return the last value handed out by ``name``, or None if it was never used."""
    return (
        await session.execute(select(Counter.last_value).where(Counter.name == name))
    ).scalar_one_or_none()
