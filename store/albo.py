"""Albo use-cases: upsert members by their Albo id, list and page them, record opt-outs.

Session first, never commit (the caller owns the transaction). Re-importing the same file is
idempotent: a member is matched by ``member_id`` and updated in place, so campaigns that already
reference the row keep pointing at the same person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_messaging import AlboMember


class MemberFields(Protocol):
    """What the store needs to write a member (handlers' MemberData has this shape)."""

    member_id: str
    name: str
    email: str | None
    pec: str | None
    mobile: str | None
    fax: str | None
    postal: dict[str, str] | None
    fields: dict[str, Any]
    tags: tuple[str, ...]
    consent: dict[str, bool]
    opted_out: tuple[str, ...]


_COLUMNS = ("name", "email", "pec", "mobile", "fax", "postal", "fields", "consent")


async def upsert(session: AsyncSession, data: MemberFields, *, now: datetime) -> tuple[int, str]:
    """Insert or update a member; return its row id and ``created``/``updated``/``unchanged``."""
    row = (
        await session.execute(select(AlboMember).where(AlboMember.member_id == data.member_id))
    ).scalar_one_or_none()
    values: dict[str, Any] = {c: getattr(data, c) for c in _COLUMNS}
    values["tags"] = list(data.tags)
    values["opted_out"] = list(data.opted_out)
    if row is None:
        row = AlboMember(member_id=data.member_id, created_at=now, updated_at=now, **values)
        session.add(row)
        await session.flush()
        return row.id, "created"
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return row.id, "unchanged"
    for key, value in changed.items():
        setattr(row, key, value)
    row.updated_at = now
    await session.flush()
    return row.id, "updated"


async def get(session: AsyncSession, member_id: str) -> AlboMember | None:
    """Return a member by Albo id."""
    return (
        await session.execute(select(AlboMember).where(AlboMember.member_id == member_id))
    ).scalar_one_or_none()


async def listing(
    session: AsyncSession, *, tag: str | None = None, limit: int = 50, offset: int = 0
) -> list[AlboMember]:
    """Return members in Albo order, optionally only those with ``tag``."""
    query = select(AlboMember).order_by(AlboMember.member_id)
    if tag is None:
        query = query.limit(limit).offset(offset)
        return list((await session.execute(query)).scalars().all())
    # Tags are a JSON list: filtered here, the same way on both backends.
    rows = [m for m in (await session.execute(query)).scalars().all() if tag in m.tags]
    return rows[offset : offset + limit]


async def page(session: AsyncSession, *, after: int, limit: int) -> list[AlboMember]:
    """Return up to ``limit`` members with row id above ``after`` (listmonk's cursor paging)."""
    query = select(AlboMember).where(AlboMember.id > after).order_by(AlboMember.id).limit(limit)
    return list((await session.execute(query)).scalars().all())


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, AlboMember]:
    """Return members by row id."""
    if not ids:
        return {}
    rows = await session.execute(select(AlboMember).where(AlboMember.id.in_(list(ids))))
    return {m.id: m for m in rows.scalars().all()}


async def opt_out(session: AsyncSession, member_id: str, channel: str, *, now: datetime) -> bool:
    """Record that a member wants nothing more on ``channel``; False if no such member."""
    row = await get(session, member_id)
    if row is None:
        return False
    if channel not in row.opted_out:
        row.opted_out = sorted({*row.opted_out, channel})
        row.updated_at = now
        await session.flush()
    return True


async def count(session: AsyncSession) -> int:
    """Return how many members the Albo has."""
    return int((await session.execute(select(func.count()).select_from(AlboMember))).scalar_one())
