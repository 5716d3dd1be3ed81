"""Write-once archives with retention: the `Archive` protocol plus what conservazione needs.

Issue 7 §5 (domain.md §6.1: 10-year retention, art. 2220 c.c.): nothing under retention can be
deleted or overwritten through pecora. `WormArchive` adds to `store.archive.Archive` a put with
a retain-until instant (which may extend, never shorten, an earlier one), a way to read the
retention back, and a delete that refuses while it runs. Overwrite cannot happen by design:
items are named by their SHA-256, so a second put of a name is a no-op.

`RetainedFilesystemArchive` is the filesystem implementation: files are 0444 and the
retain-until instant sits beside them (``.retention/``). It protects against pecora and
against mistakes, not against root on the host; for that use the S3 Object Lock backend
(`store/archive_s3.py`), where COMPLIANCE mode is enforced by the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

from store import durable
from store.archive import (
    Archive,
    ArchiveError,
    FilesystemArchive,
    _check_name,
    in_io_thread,
    sha256_hex,
)


class RetentionActive(ArchiveError):
    """The item is under retention: it may not be deleted (or its retention shortened)."""


@runtime_checkable
class WormArchive(Archive, Protocol):
    """An `Archive` whose items carry a retain-until instant enforced by the backend."""

    async def put_retained(self, data: bytes, retain_until: dt.datetime) -> str:
        """Store ``data`` locked until ``retain_until`` (extending, never shortening)."""
        ...

    async def retention(self, sha256: str) -> dt.datetime | None:
        """Return the retain-until instant of an item (None: not stored or not retained)."""
        ...

    async def delete(self, sha256: str, *, now: dt.datetime) -> None:
        """Delete an item whose retention is over; raise `RetentionActive` otherwise."""
        ...


async def put_item(archive: Archive, data: bytes, retain_until: dt.datetime) -> str:
    """Put ``data`` with retention when the backend supports it (plain put otherwise)."""
    if isinstance(archive, WormArchive):
        return await archive.put_retained(data, retain_until)
    return await archive.put(data)


#: How many puts `put_items` keeps in flight: enough for the filesystem to group their fsyncs
#: (one journal commit for several files), few enough not to flood an S3 connection pool.
PUT_CONCURRENCY = 8


@runtime_checkable
class BatchWormArchive(WormArchive, Protocol):
    """A `WormArchive` that stores many items at once more cheaply than one by one."""

    async def put_retained_many(self, blobs: Sequence[tuple[bytes, dt.datetime]]) -> list[str]:
        """`put_retained` each ``(data, retain_until)``; all durable on return."""
        ...


def _latest_retention(digests: Sequence[str], blobs: Sequence[tuple[bytes, dt.datetime]]
                      ) -> dict[str, tuple[bytes, dt.datetime]]:
    """Each distinct content once (by its digest), with the latest retention asked for it."""
    latest: dict[str, tuple[bytes, dt.datetime]] = {}
    for digest, (data, until) in zip(digests, blobs, strict=True):
        if digest not in latest or until > latest[digest][1]:
            latest[digest] = (data, until)
    return latest


async def put_items(archive: Archive, blobs: Sequence[tuple[bytes, dt.datetime]]) -> None:
    """`put_item` every blob, each distinct content once (the latest retention).

    A unit's file, MT, envelope and manifest, or those of a whole batch of units. A backend
    that stores many at once does so (the filesystem: two durability barriers for all, rather
    than two per file); otherwise they are put concurrently, so their round trips overlap.
    """
    if isinstance(archive, BatchWormArchive):  # it keeps each distinct content once itself
        await archive.put_retained_many(blobs)
        return
    latest = _latest_retention([sha256_hex(data) for data, _ in blobs], blobs)
    gate = asyncio.Semaphore(PUT_CONCURRENCY)

    async def put(data: bytes, until: dt.datetime) -> None:
        async with gate:
            await put_item(archive, data, until)

    await asyncio.gather(*(put(data, until) for data, until in latest.values()))


class RetainedFilesystemArchive(FilesystemArchive):
    """`WormArchive` on a directory: read-only files plus a retain-until record per item."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._retention_root = root / ".retention"

    def _retention_path(self, sha256: str) -> Path:
        name = _check_name(sha256)
        return self._retention_root / name[:2] / name

    async def put_retained(self, data: bytes, retain_until: dt.datetime) -> str:
        """See `WormArchive.put_retained`."""
        return await in_io_thread(self.put_retained_blocking, data, retain_until)

    def put_retained_blocking(self, data: bytes, retain_until: dt.datetime) -> str:
        """Store ``data`` and record (or extend) its retention."""
        return self.put_retained_many_blocking([(data, retain_until)])[0]

    async def put_retained_many(self, blobs: Sequence[tuple[bytes, dt.datetime]]) -> list[str]:
        """`put_retained` for many items: two durability barriers for all (store/durable.py)."""
        return await in_io_thread(self.put_retained_many_blocking, blobs)

    def put_retained_many_blocking(self, blobs: Sequence[tuple[bytes, dt.datetime]]
                                   ) -> list[str]:
        """Store the items and record (or extend) their retention, all durable on return.

        A retention record is as durable as its item: one lost in a crash after the caller's
        commit would leave a document under legal retention deletable. It only ever moves
        later (checked here, before it is staged).
        """
        digests = [sha256_hex(data) for data, _ in blobs]
        latest = _latest_retention(digests, blobs)
        staged = self.stage_missing({d: data for d, (data, _) in latest.items()})
        for digest, (_, until) in latest.items():
            current = self.retention_blocking(digest)
            if current is None or until > current:
                staged.append(durable.stage(
                    self._retention_path(digest),
                    until.astimezone(dt.UTC).isoformat().encode("ascii"), replace=True))
        durable.publish(self.root, staged)
        return digests

    async def retention(self, sha256: str) -> dt.datetime | None:
        """See `WormArchive.retention`."""
        return await in_io_thread(self.retention_blocking, sha256)

    def retention_blocking(self, sha256: str) -> dt.datetime | None:
        """Read the retain-until record of an item."""
        try:
            return dt.datetime.fromisoformat(self._retention_path(sha256).read_text().strip())
        except FileNotFoundError:
            return None

    async def delete(self, sha256: str, *, now: dt.datetime) -> None:
        """See `WormArchive.delete`."""
        until = await self.retention(sha256)
        if until is not None and now < until:
            raise RetentionActive(f"archive item {sha256} is retained until {until.isoformat()}")
        await in_io_thread(partial(self.path_of(sha256).unlink, missing_ok=True))
