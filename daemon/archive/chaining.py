"""Append archived objects to the hash chain: lock, read the head, hash (pure), insert."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.archive.chain import GENESIS, ChainEntry, link_hash
from store import archive_chain
from store.archive_chain import ChainRow


async def head(session: AsyncSession) -> tuple[int, str]:
    """Return ``(seq, hash)`` of the chain's head, ``(0, GENESIS)`` when empty."""
    return await archive_chain.head(session) or (0, GENESIS)


async def append(
    session: AsyncSession,
    links: Sequence[tuple[str, str]],
    *,
    now: dt.datetime,
    unit_id: int | None = None,
    package_id: int | None = None,
) -> list[ChainEntry]:
    """Chain ``(kind, sha256)`` pairs after the current head, in order; return the entries."""
    return await append_groups(session, [(unit_id, links)], now=now, package_id=package_id)


async def append_groups(
    session: AsyncSession,
    groups: Sequence[tuple[int | None, Sequence[tuple[str, str]]]],
    *,
    now: dt.datetime,
    package_id: int | None = None,
) -> list[ChainEntry]:
    """`append` for several units at once: ``(unit_id, links)`` groups, chained in order."""
    await archive_chain.lock(session)
    seq, prev = await head(session)
    rows: list[ChainRow] = []
    for unit_id, links in groups:
        for kind, ref in links:
            seq += 1
            digest = link_hash(prev, kind, ref)
            rows.append(ChainRow(seq, kind, ref, prev, digest, unit_id))
            prev = digest
    await archive_chain.add(session, rows, now=now, package_id=package_id)
    return [ChainEntry(r.seq, r.kind, r.ref, r.prev, r.hash) for r in rows]


async def entries(session: AsyncSession) -> list[tuple[ChainEntry, int | None]]:
    """Every entry in ``seq`` order, with the unit it belongs to."""
    return [
        (ChainEntry(r.seq, r.kind, r.ref, r.prev, r.hash), r.unit_id)
        for r in await archive_chain.entries(session)
    ]
