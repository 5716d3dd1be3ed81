"""Content-addressed, write-once storage for raw bytes (received mail, sent payloads, receipts).

An item is named by the SHA-256 of its bytes, so writing the same bytes twice is a no-op and an
item can never be changed in place. The filesystem backend writes atomically (temp file, fsync,
rename, fsync of the directory) and leaves files read-only. An S3/Object Lock backend implements
the same `Archive` protocol (conservazione issue).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

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

    def put_blocking(self, data: bytes) -> str:
        """Store ``data`` atomically and durably; return its SHA-256."""
        digest = sha256_hex(data)
        final = self.path_of(digest)
        if final.exists():
            return digest  # same name, same bytes: write-once means nothing to do
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o444)
            # os.link fails if the name exists, so a concurrent writer cannot be overwritten.
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, final)
        finally:
            os.unlink(tmp_name)
        fsync_dir(final.parent)
        return digest

    def get_blocking(self, sha256: str) -> bytes:
        """Return the stored bytes, verifying that they still hash to their name."""
        try:
            data = self.path_of(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise ItemMissing(f"archive item {sha256} is missing") from exc
        if sha256_hex(data) != sha256:
            raise ItemCorrupt(f"archive item {sha256} does not match its hash")
        return data


def fsync_dir(path: Path) -> None:
    """fsync a directory: the names created or renamed in it survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
