"""Named leases: exactly one node holds a lease until it lets it go or stops renewing it.

Used so that each IMAP mailbox is watched by one daemon at a time; when the holder dies, its
lease expires and another node takes over. Works the same on SQLite and PostgreSQL because
acquisition is one atomic INSERT-or-conditional-UPDATE.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Lease
from store.sql import insert_ignore


async def acquire(
    session: AsyncSession, name: str, holder: str, *, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew lease ``name`` for ``holder``; False if another live holder has it."""
    expires = now + ttl
    table = Lease.__table__
    if await insert_ignore(session, table, {"name": name, "holder": holder, "expires_at": expires}):  # type: ignore[arg-type]
        return True
    result = await session.execute(
        update(Lease)
        .where((Lease.name == name) & ((Lease.holder == holder) | (Lease.expires_at < now)))
        .values(holder=holder, expires_at=expires)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Give lease ``name`` up, if ``holder`` still has it."""
    await session.execute(delete(Lease).where((Lease.name == name) & (Lease.holder == holder)))


async def holder_of(session: AsyncSession, name: str, *, now: datetime) -> str | None:
    """Return who holds lease ``name`` now, or None."""
    row = (await session.execute(select(Lease).where(Lease.name == name))).scalar_one_or_none()
    if row is None or row.expires_at < now:
        return None
    return row.holder
