"""Store side of the archive's hash chain: lock, read the head, add entries, read them all.

The hashing itself is pure (handlers/archive/chain.py); the use-cases (daemon/archive/) compute
each entry's hash between `head` and `add`. Appends are serialised by `lock`: on PostgreSQL a
transaction-scoped advisory lock, on SQLite the ``BEGIN IMMEDIATE`` every transaction already
takes (store/db.py), so two writers can never chain two entries after the same predecessor.
Like every store function, these run in the caller's transaction and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_archive import ArchiveChainEntry
from store.sql import insert_many

#: Advisory lock key of the chain ("pecchain" in ASCII, fits a bigint).
_CHAIN_LOCK = 0x7065636368616E


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored entry of the chain."""

    seq: int
    kind: str
    ref: str
    prev: str
    hash: str
    unit_id: int | None = None


async def lock(session: AsyncSession) -> None:
    """Take the chain's append lock until the end of the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})


async def head(session: AsyncSession) -> tuple[int, str] | None:
    """Return ``(seq, hash)`` of the newest entry, or None for an empty chain."""
    row = (
        await session.execute(
            select(ArchiveChainEntry.seq, ArchiveChainEntry.hash)
            .order_by(ArchiveChainEntry.seq.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def add(
    session: AsyncSession,
    rows: Sequence[ChainRow],
    *,
    now: dt.datetime,
    package_id: int | None = None,
) -> None:
    """Insert entries computed by the caller (after `lock` and `head`), in one statement."""
    await insert_many(session, ArchiveChainEntry, [
        {"seq": r.seq, "kind": r.kind, "ref": r.ref, "prev": r.prev, "hash": r.hash,
         "unit_id": r.unit_id, "package_id": package_id, "at": now}
        for r in rows
    ])


async def entries(session: AsyncSession) -> list[ChainRow]:
    """Return every entry in ``seq`` order."""
    result = await session.execute(
        select(
            ArchiveChainEntry.seq, ArchiveChainEntry.kind, ArchiveChainEntry.ref,
            ArchiveChainEntry.prev, ArchiveChainEntry.hash, ArchiveChainEntry.unit_id,
        ).order_by(ArchiveChainEntry.seq)
    )
    return [ChainRow(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in result]
