"""Crash-safe publication of many files: names only ever point at bytes already on disk."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from store import durable
from store.archive import FilesystemArchive, sha256_hex
from store.archive_worm import RetainedFilesystemArchive, put_items

LATER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)


def _record_barriers(monkeypatch: pytest.MonkeyPatch, staged: Sequence[durable.Staged]
                     ) -> list[tuple[bool, list[bool], list[bool]]]:
    """At each barrier: was it whole, which finals and which temporaries existed."""
    seen: list[tuple[bool, list[bool], list[bool]]] = []
    real = durable.barrier

    def barrier(root: Path, paths: Sequence[Path], *, whole: bool) -> None:
        seen.append((whole, [s.final.exists() for s in staged], [s.tmp.exists() for s in staged]))
        real(root, paths, whole=whole)

    monkeypatch.setattr(durable, "barrier", barrier)
    return seen


@pytest.mark.parametrize("count", [2, 40])  # fsync per path / one syncfs
def test_names_appear_only_between_the_two_barriers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    staged = [durable.stage(tmp_path / f"{n:02d}" / "item", b"x%d" % n) for n in range(count)]
    assert not any(s.final.exists() for s in staged)  # a crash now: only temporaries
    seen = _record_barriers(monkeypatch, staged)
    durable.publish(tmp_path, staged)
    whole = count > durable.SYNCFS_FROM
    assert seen == [
        (whole, [False] * count, [True] * count),  # bytes synced before any name points at them
        (whole, [True] * count, [False] * count),  # then the names, temporaries gone
    ]
    for n, s in enumerate(staged):
        assert s.final.read_bytes() == b"x%d" % n
        assert stat.S_IMODE(s.final.stat().st_mode) == 0o444


def test_few_files_fsync_each_file_then_each_changed_directory(
    tmp_path: Path, fsynced: list[str]
) -> None:
    (tmp_path / "old").mkdir()
    staged = [durable.stage(tmp_path / "new" / "deep" / "a", b"a"),
              durable.stage(tmp_path / "old" / "b", b"b")]
    synced = fsynced
    durable.publish(tmp_path, staged)
    files = {str(s.tmp) for s in staged}
    assert set(synced[:2]) == files
    # the final directories, and the parent of each one `stage` created
    assert sorted(synced[2:]) == sorted(str(p) for p in (
        tmp_path, tmp_path / "new", tmp_path / "new" / "deep", tmp_path / "old"))


def test_many_files_are_one_syncfs_per_barrier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if durable._SYNCFS is None:
        pytest.skip("no syncfs(2) here: every file is fsynced instead")
    calls: list[int] = []
    real = durable._SYNCFS

    def syncfs(fd: int) -> int:
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(durable, "_SYNCFS", syncfs)
    monkeypatch.setattr(os, "fsync", lambda fd: pytest.fail("fsync in a whole barrier"))
    durable.publish(tmp_path, [durable.stage(tmp_path / f"f{n}", b"%d" % n) for n in range(10)])
    assert len(calls) == 2


def test_a_syncfs_error_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> int:
        ctypes.set_errno(5)
        return -1

    monkeypatch.setattr(durable, "_SYNCFS", failing)
    staged = [durable.stage(tmp_path / f"f{n}", b"%d" % n) for n in range(10)]
    with pytest.raises(OSError, match="syncfs"):
        durable.publish(tmp_path, staged)
    # the data was never known to be on disk: no name points at it, no temporary is left
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_existing_write_once_name_is_kept(tmp_path: Path) -> None:
    staged = durable.stage(tmp_path / "item", b"same")
    (tmp_path / "item").write_bytes(b"same")  # a concurrent writer got there first
    inode = (tmp_path / "item").stat().st_ino
    durable.publish(tmp_path, [staged])
    assert (tmp_path / "item").stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["item"]


def test_a_record_is_replaced(tmp_path: Path) -> None:
    durable.publish(tmp_path, [durable.stage(tmp_path / "r", b"2030", replace=True)])
    durable.publish(tmp_path, [durable.stage(tmp_path / "r", b"2040", replace=True)])
    assert (tmp_path / "r").read_bytes() == b"2040"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


async def test_put_many_stores_each_distinct_item_once(tmp_path: Path) -> None:
    archive = FilesystemArchive(tmp_path)
    first = await archive.put(b"already there")
    inode = archive.path_of(first).stat().st_ino
    blobs = [b"already there", *(b"item %d" % n for n in range(12)), b"item 3"]
    names = await archive.put_many(blobs)
    assert names == [sha256_hex(b) for b in blobs]
    assert archive.path_of(first).stat().st_ino == inode  # write-once: left alone
    for name, data in zip(names, blobs, strict=True):
        assert await archive.get(name) == data
    assert not [p for p in tmp_path.rglob(".tmp-*")]


async def test_put_items_on_a_retained_archive_records_every_retention(tmp_path: Path) -> None:
    worm = RetainedFilesystemArchive(tmp_path)
    sooner = LATER - dt.timedelta(days=365)
    kept = await worm.put_retained(b"kept longer", LATER)
    blobs = [(b"doc %d" % n, sooner) for n in range(10)]
    await put_items(worm, [*blobs, (b"doc 0", LATER), (b"kept longer", sooner)])
    assert worm.retention_blocking(sha256_hex(b"doc 0")) == LATER  # the latest of the two
    assert worm.retention_blocking(sha256_hex(b"doc 5")) == sooner
    assert worm.retention_blocking(kept) == LATER  # never shortened
    for data, _ in blobs:
        assert await worm.get(sha256_hex(data)) == data
    assert not [p for p in tmp_path.rglob(".tmp-*")]
