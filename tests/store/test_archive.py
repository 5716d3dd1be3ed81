"""The filesystem archive: content-addressed, atomic, read-only, write-once, verified on read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from store.archive import FilesystemArchive, ItemCorrupt, ItemMissing, sha256_hex


async def test_put_get_roundtrip_and_name_is_the_hash(archive: FilesystemArchive) -> None:
    data = b"fattura \x00\xff bytes"
    name = await archive.put(data)
    assert name == sha256_hex(data)
    assert await archive.exists(name)
    assert await archive.get(name) == data
    path = archive.path_of(name)
    assert path.parent.parent.name == name[:2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444  # read-only once written


async def test_same_bytes_twice_is_a_no_op(archive: FilesystemArchive) -> None:
    name = await archive.put(b"x")
    inode = archive.path_of(name).stat().st_ino
    assert await archive.put(b"x") == name
    assert archive.path_of(name).stat().st_ino == inode
    leftovers = [p for p in archive.root.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


async def test_missing_and_corrupt_items_are_reported(archive: FilesystemArchive) -> None:
    with pytest.raises(ItemMissing):
        await archive.get("0" * 64)
    name = await archive.put(b"original")
    path = archive.path_of(name)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(ItemCorrupt):
        await archive.get(name)


async def test_names_are_checked(archive: FilesystemArchive) -> None:
    for bad in ("../../etc/passwd", "ABC", "g" * 64):
        with pytest.raises(ValueError, match="not a SHA-256"):
            await archive.get(bad)


async def test_concurrent_writers_of_the_same_bytes(tmp_path: Path) -> None:
    import asyncio

    archive = FilesystemArchive(tmp_path / "a")
    names = await asyncio.gather(*(archive.put(b"same") for _ in range(20)))
    assert len(set(names)) == 1
    assert await archive.get(names[0]) == b"same"
