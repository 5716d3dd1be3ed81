"""Crash-safe publication of many files at once, for the filesystem archive.

A file is *staged* (written under a temporary name in its final directory, made read-only),
then *published* (given its final name). The rule that makes a crash harmless is that a final
name only ever points at bytes already on disk, and that the caller learns the names are
durable only once they are:

1. stage every file;
2. barrier: the staged bytes are on disk;
3. link (or rename, for a record that may be replaced) each staged file to its final name;
4. barrier: the names are on disk.

A crash before 3 leaves temporary files nobody names; between 3 and 4 some names may be lost,
but never point at partial bytes; and the caller commits the rows that name them after 4.

The barrier is where the cost is. Done per file (fsync of the file, then of its directory) it
costs a journal commit each, about 0.5 ms of CPU on this kind of machine: for an inbox batch of
20 invoices (file, MT, envelope and manifest, each with a retention record: 160 files) that is
most of the batch's time. For more than a few files the barrier is one ``syncfs(2)`` of the
archive's filesystem instead: a single journal commit that covers all of them (it also flushes
whatever else is dirty on that filesystem, which is why it is not used for one file). Since
Linux 5.8 syncfs reports writeback errors like fsync does. Where it is missing (not Linux, no
glibc), every file and directory is fsynced as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Above this many staged files a barrier is one syncfs rather than one fsync per path.
SYNCFS_FROM = 4


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        func: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return func


_SYNCFS = _load_syncfs()


@dataclass(frozen=True, slots=True)
class Staged:
    """A file written under a temporary name, waiting for its final name."""

    tmp: Path
    final: Path
    replace: bool  # a record that may be replaced (retention), not a write-once item
    dirs: tuple[Path, ...]  # whose entries change: the final one, and above each one created


def stage(final: Path, data: bytes, *, replace: bool = False) -> Staged:
    """Write ``data`` next to ``final`` under a temporary name, read-only; nothing synced yet."""
    created = []
    d = final.parent
    while not d.exists():
        created.append(d)
        d = d.parent
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
        os.chmod(tmp_name, 0o444)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return Staged(Path(tmp_name), final, replace,
                  (final.parent, *(c.parent for c in created)))


def publish(root: Path, staged: Sequence[Staged]) -> None:
    """Give every staged file its final name, durably (steps 2-4 of the module docstring).

    A write-once item whose name exists already (a concurrent writer of the same bytes) keeps
    the existing file; its temporary copy is removed.
    """
    if not staged:
        return
    whole = len(staged) > SYNCFS_FROM
    try:
        barrier(root, [s.tmp for s in staged], whole=whole)
        for s in staged:
            if s.replace:
                os.replace(s.tmp, s.final)
            else:
                # os.link fails if the name exists, so a concurrent writer is never overwritten.
                with contextlib.suppress(FileExistsError):
                    os.link(s.tmp, s.final)
    finally:
        for s in staged:  # linked (a second name) or failed; a renamed one is gone already
            with contextlib.suppress(FileNotFoundError):
                os.unlink(s.tmp)
    barrier(root, sorted({d for s in staged for d in s.dirs}), whole=whole)


def barrier(root: Path, paths: Sequence[Path], *, whole: bool) -> None:
    """Return once ``paths`` (files or directories under ``root``) are on disk.

    ``whole``: by one syncfs of the filesystem, where the system has it.
    """
    if whole and _SYNCFS is not None:
        _syncfs(root)
        return
    for path in paths:
        fsync_path(path)


def _syncfs(root: Path) -> None:
    assert _SYNCFS is not None
    fd = os.open(root, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs of {root}: {os.strerror(err)}")
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (for a directory: the names created or renamed in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
