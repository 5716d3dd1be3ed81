"""Daily backups of the database and the archive index: compressed, checksummed, pruned.

Issue 7 §6. One backup is a directory ``pecora-YYYYmmddTHHMMSSZ/`` holding:

* the database: SQLite through its online backup API (a consistent copy while the daemon
  writes), gzipped; PostgreSQL through ``pg_dump -Fc`` (compressed custom format, restored
  with ``pg_restore``; the client must be the server's major version or newer);
* ``archive-index.json.gz``: the archive's chain, units and packages, a plain-text second copy
  of what verify needs to prove the archive, readable without pecora;
* ``MANIFEST.json``: SHA-256 and size of each file, written last.

A backup is assembled under a temporary name and renamed, so a crash never leaves a partial
backup that looks complete; `restore` re-checks every checksum before touching anything and
only restores into an empty database. Backups older than the retention (90 days) are pruned.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models_archive import ArchiveChainEntry, ArchivePackage, ArchiveUnit

PREFIX = "pecora-"
MANIFEST = "MANIFEST.json"
INDEX = "archive-index.json.gz"
KEEP_DAYS = 90


class BackupError(RuntimeError):
    """A backup could not be made, read or restored."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """One backup as `list_backups` sees it."""

    name: str
    path: Path
    created_at: dt.datetime
    engine: str  # sqlite | postgresql
    size: int
    files: dict[str, str]  # name -> sha256


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def libpq_url(url: str) -> str:
    """Turn a SQLAlchemy PostgreSQL URL into one pg_dump/pg_restore understand."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("cannot back up an in-memory SQLite database")
    return Path(database)


async def backup_now(engine: AsyncEngine, url: str, root: Path, *, now: dt.datetime) -> BackupInfo:
    """Make one backup of the database at ``url`` and its archive index under ``root``."""
    index = await _archive_index(engine)
    return await asyncio.to_thread(_backup_blocking, url, root, now, index)


async def _archive_index(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        chain = await conn.execute(
            select(ArchiveChainEntry.seq, ArchiveChainEntry.kind, ArchiveChainEntry.ref,
                   ArchiveChainEntry.prev, ArchiveChainEntry.hash).order_by(ArchiveChainEntry.seq)
        )
        units = await conn.execute(
            select(ArchiveUnit.identifier, ArchiveUnit.manifest_sha256, ArchiveUnit.revision,
                   ArchiveUnit.retain_until).order_by(ArchiveUnit.id)
        )
        packages = await conn.execute(
            select(ArchivePackage.package_key, ArchivePackage.signed_sha256,
                   ArchivePackage.chain_seq, ArchivePackage.chain_head).order_by(ArchivePackage.id)
        )
        return {
            "chain": [list(r) for r in chain],
            "units": [[r[0], r[1], r[2], r[3].isoformat()] for r in units],
            "packages": [list(r) for r in packages],
        }


def _backup_blocking(url: str, root: Path, now: dt.datetime, index: dict[str, Any]) -> BackupInfo:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{PREFIX}{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    final = root / name
    if final.exists():
        raise BackupError(f"backup {name} already exists")
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        engine = make_url(url).get_backend_name()
        if engine == "sqlite":
            _dump_sqlite(_sqlite_path(url), work / "db.sqlite3.gz")
        elif engine == "postgresql":
            _run(["pg_dump", "-Fc", "-Z", "6", "--no-owner", "--no-acl",
                  "-f", str(work / "db.pgdump"), "-d", libpq_url(url)])
        else:
            raise BackupError(f"unsupported database {engine}")
        with gzip.open(work / INDEX, "wt", encoding="utf-8") as fh:
            json.dump(index, fh)
        files = {p.name: _sha256_file(p) for p in sorted(work.iterdir())}
        manifest = {"created_at": now.astimezone(dt.UTC).isoformat(), "engine": engine,
                    "files": files, "format": 1}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        for p in work.iterdir():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return _read(final)


def _dump_sqlite(src: Path, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        copy = Path(tmp) / "db.sqlite3"
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # online backup API: consistent while others write
        finally:
            target.close()
            source.close()
        with copy.open("rb") as fin, gzip.open(dest, "wb", compresslevel=6) as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()}")


def _read(path: Path) -> BackupInfo:
    try:
        data = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path.name}: unreadable {MANIFEST}: {exc}") from exc
    files = dict(data["files"])
    size = sum((path / f).stat().st_size for f in files if (path / f).exists())
    return BackupInfo(path.name, path, dt.datetime.fromisoformat(data["created_at"]),
                      data["engine"], size, files)


def list_backups(root: Path) -> list[BackupInfo]:
    """Every complete backup under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [_read(p) for p in sorted(root.iterdir())
             if p.is_dir() and p.name.startswith(PREFIX) and (p / MANIFEST).exists()]
    return sorted(found, key=lambda b: b.created_at)


def check(backup: BackupInfo) -> list[str]:
    """Return the files of ``backup`` that are missing or no longer match their checksum."""
    bad = []
    for name, sha in backup.files.items():
        path = backup.path / name
        if not path.exists() or _sha256_file(path) != sha:
            bad.append(name)
    return bad


def prune(root: Path, *, now: dt.datetime, keep_days: int = KEEP_DAYS) -> list[str]:
    """Delete backups older than ``keep_days``; return their names. The newest is always kept."""
    backups = list_backups(root)
    cutoff = now - dt.timedelta(days=keep_days)
    removed = []
    for backup in backups[:-1]:
        if backup.created_at < cutoff:
            shutil.rmtree(backup.path)
            removed.append(backup.name)
    return removed


async def restore(backup: BackupInfo, url: str) -> None:
    """Restore ``backup`` into the empty database at ``url`` (checksums checked first)."""
    bad = await asyncio.to_thread(check, backup)
    if bad:
        raise BackupError(f"{backup.name}: damaged files {', '.join(bad)}; not restoring")
    engine = make_url(url).get_backend_name()
    if engine != backup.engine:
        raise BackupError(f"{backup.name} is a {backup.engine} backup, the target is {engine}")
    if engine == "sqlite":
        await asyncio.to_thread(_restore_sqlite, backup, _sqlite_path(url))
    else:
        await _require_empty(url)
        await asyncio.to_thread(
            _run, ["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "-d",
                   libpq_url(url), str(backup.path / "db.pgdump")]
        )


def _restore_sqlite(backup: BackupInfo, target: Path) -> None:
    if target.exists() and target.stat().st_size > 0:
        raise BackupError(f"{target} exists: restore only into an empty data directory")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.restore")
    with gzip.open(backup.path / "db.sqlite3.gz", "rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    os.rename(tmp, target)


async def _require_empty(url: str) -> None:
    from store.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    if tables:
        raise BackupError(f"target database is not empty ({len(tables)} tables): not restoring")
