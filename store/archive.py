"""Content-addressed, write-once storage for raw bytes (received mail, sent payloads, receipts).

An item is named by the SHA-256 of its bytes, so writing the same bytes twice is a no-op and an
item can never be changed in place. The filesystem backend writes atomically and durably (temp
file, barrier, link, barrier: store/durable.py; one pair of barriers for a whole batch with
`put_many`) and leaves files read-only. An S3/Object Lock backend implements
the same `Archive` protocol (conservazione issue).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from store import durable

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")


class ArchiveError(RuntimeError):
    """The archive could not store or return an item."""


class ItemMissing(ArchiveError):
    """No item with that hash is in the archive."""


class ItemCorrupt(ArchiveError):
    """The stored bytes no longer hash to their name."""


class Archive(Protocol):
    """Write-once, content-addressed byte store."""

    async def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its SHA-256 in hex."""
        ...

    async def get(self, sha256: str) -> bytes:
        """Return the bytes named ``sha256``, checked against the name."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Tell whether an item named ``sha256`` is stored."""
        ...


@runtime_checkable
class BatchArchive(Archive, Protocol):
    """An `Archive` that stores many items at once more cheaply than one by one."""

    async def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """`put` each of ``blobs``; all durable on return; their SHA-256s in order."""
        ...


async def put_all(archive: Archive, blobs: Sequence[bytes]) -> list[str]:
    """Store every blob; return their SHA-256s in order.

    In one call where the backend has one (the filesystem: two durability barriers for all);
    otherwise all in flight together, so their round trips overlap.
    """
    if isinstance(archive, BatchArchive):
        return await archive.put_many(blobs)
    return list(await asyncio.gather(*(archive.put(b) for b in blobs)))


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def _check_name(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


#: Threads for the filesystem archive's blocking calls, apart from the event loop's default
#: executor: they mostly wait on the disk (create, fsync), so more of them than cores lets the
#: filesystem group fsyncs into one journal commit, and a burst of writes (an IMAP batch, an
#: inbox batch's units) never queues the pipeline's CPU work behind it.
_IO_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="archive-io")


async def in_io_thread(func: Callable[..., T], *args: Any) -> T:
    """Run a blocking filesystem call of the archive in its own thread pool."""
    return await asyncio.get_running_loop().run_in_executor(_IO_THREADS, func, *args)


class FilesystemArchive:
    """`Archive` on a local directory: ``ROOT/ab/cd/abcd…`` files, mode 0444."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        """Return where the item named ``sha256`` lives (whether or not it exists)."""
        name = _check_name(sha256)
        return self.root / name[:2] / name[2:4] / name

    async def put(self, data: bytes) -> str:
        """See `Archive.put`."""
        return await in_io_thread(self.put_blocking, data)

    async def get(self, sha256: str) -> bytes:
        """See `Archive.get`."""
        return await in_io_thread(self.get_blocking, sha256)

    async def exists(self, sha256: str) -> bool:
        """See `Archive.exists`."""
        return self.path_of(sha256).exists()

    async def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Store several items with two durability barriers for all (store/durable.py)."""
        return await in_io_thread(self.put_many_blocking, blobs)

    def put_blocking(self, data: bytes) -> str:
        """Store ``data`` atomically and durably; return its SHA-256."""
        return self.put_many_blocking([data])[0]

    def put_many_blocking(self, blobs: Sequence[bytes]) -> list[str]:
        """Store each of ``blobs`` atomically, all durable on return; return their SHA-256s."""
        digests = [sha256_hex(data) for data in blobs]
        durable.publish(self.root, self.stage_missing(dict(zip(digests, blobs, strict=True))))
        return digests

    def stage_missing(self, blobs: Mapping[str, bytes]) -> list[durable.Staged]:
        """Stage the items (by digest) not stored yet; the caller publishes them."""
        staged = []
        for digest, data in blobs.items():
            final = self.path_of(digest)
            if not final.exists():  # same name, same bytes: write-once means nothing to do
                staged.append(durable.stage(final, data))
        return staged

    def get_blocking(self, sha256: str) -> bytes:
        """Return the stored bytes, verifying that they still hash to their name."""
        try:
            data = self.path_of(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise ItemMissing(f"archive item {sha256} is missing") from exc
        if sha256_hex(data) != sha256:
            raise ItemCorrupt(f"archive item {sha256} does not match its hash")
        return data
