"""Counters hand out each value once, in order, under concurrency, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import counters


async def test_allocate_counts_up_from_start(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        assert await counters.peek(s, "file:IT01234567890") is None
        assert await counters.allocate(s, "file:IT01234567890") == 1
        assert await counters.allocate(s, "file:IT01234567890") == 2
        assert await counters.allocate(s, "invoice:2026:A", start=100) == 100
    async with sessions() as s:
        assert await counters.peek(s, "file:IT01234567890") == 2


async def test_rolled_back_value_is_given_again(sessions: async_sessionmaker[AsyncSession]) -> None:
    class Boom(Exception):
        pass

    async def allocate_then_fail() -> None:
        async with sessions() as s, s.begin():
            assert await counters.allocate(s, "c") == 1
            raise Boom

    with pytest.raises(Boom):
        await allocate_then_fail()
    async with sessions() as s, s.begin():
        assert await counters.allocate(s, "c") == 1


async def test_concurrent_allocations_never_collide(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def one() -> int:
        async with sessions() as s, s.begin():
            return await counters.allocate(s, "shared")

    values = await asyncio.gather(*(one() for _ in range(40)))
    assert sorted(values) == list(range(1, 41))
