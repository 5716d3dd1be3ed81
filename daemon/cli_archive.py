"""`pecora archive export|verify|search|package` and `pecora backup now|list|restore`.

Wired into daemon/cli.py by `add_parser`; also runnable alone (``python -m daemon.cli_archive``).
Same conventions as cli.py: rich tables, ``--json`` on listings, exit 0 fine, 1 the thing asked
about is not fine (problems found, nothing matched), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daemon.archive.settings import open_archive
from daemon.cli_output import emit as _emit
from daemon.cli_output import err, out
from daemon.config import ConfigError, Settings, load_settings
from daemon.config_archive import ArchiveSettings


def _cfg(args: argparse.Namespace, settings: Settings) -> ArchiveSettings:
    return settings.archive


@asynccontextmanager
async def _store(
    settings: Settings, *, check_schema: bool = True
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    from daemon.services import prepare_database
    from store.db import create_engine, session_factory

    engine = create_engine(settings.database_url())
    try:
        if check_schema:
            await prepare_database(engine, auto_migrate=False)
        yield engine, session_factory(engine)
    finally:
        await engine.dispose()


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


async def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.archive.verify import verify_archive

    cfg = _cfg(args, settings)
    archive = open_archive(settings, cfg)
    async with _store(settings) as (_, sessions), sessions() as session:
        with Progress(console=err, transient=True, disable=args.json) as bar:
            task = bar.add_task("verifying", total=None)
            report = await verify_archive(
                session, archive, trust=cfg.trust(),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if args.json:
        print(json.dumps({"ok": report.ok, "entries": report.entries, "units": report.units,
                          "packages": report.packages,
                          "problems": [asdict(p) for p in report.problems]}, indent=2))
    else:
        out.print(f"checked {report.entries} chain entries, {report.units} units, "
                  f"{report.packages} packages")
        if report.problems:
            _emit(args, [asdict(p) for p in report.problems], "problems")
        else:
            out.print("[green]archive intact[/green]")
    return 0 if report.ok else 1


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.archive.manifest import name_terms
    from store.archive_search import search

    terms = sorted(name_terms(args.name)) if args.name else []
    if args.name and not terms:
        err.print(f"--name {args.name!r} has no searchable word")
        return 2
    if not (terms or args.cf or args.vat or args.date_from or args.date_to):
        err.print("give at least one of --name, --cf, --vat, --from, --to")
        return 2
    async with _store(settings) as (_, sessions), sessions() as session:
        hits = await search(session, name_terms=terms, codice_fiscale=args.cf,
                            partita_iva=args.vat, date_from=args.date_from,
                            date_to=args.date_to, kind=args.kind, limit=args.limit)
    rows = [{**asdict(h), "parties": "; ".join(h.parties)} for h in hits]
    _emit(args, rows, "archive")
    return 0 if hits else 1


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.archive.export import export_distribution
    from store.clock import utcnow

    cfg = _cfg(args, settings)
    if not (args.date_from or args.date_to or args.id):
        err.print("give a period (--from/--to) or units (--id)")
        return 2
    signer, archive = cfg.signer(), open_archive(settings, cfg)
    async with _store(settings) as (_, sessions), sessions() as session:
        result = await export_distribution(
            session, archive, args.out, signer, cfg.agents(), now=utcnow(),
            date_from=args.date_from, date_to=args.date_to, identifiers=args.id or None,
        )
    out.print(f"{result.path}: {result.units} units, {result.files} files, "
              f"index sha256 {result.index_sha256}")
    return 0 if result.units else 1


async def cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.archive.jobs import build_daily_package
    from store.clock import utcnow

    cfg = _cfg(args, settings)
    archive = open_archive(settings, cfg)
    now = utcnow()
    async with _store(settings) as (_, sessions):
        closed = await build_daily_package(
            sessions, archive, cfg, now=now + dt.timedelta(days=1) if args.all else now
        )
    _emit(args, [asdict(p) for p in closed], "packages closed")
    return 0


async def cmd_backup_now(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.archive.jobs import daily_backup

    cfg = _cfg(args, settings)
    async with _store(settings) as (engine, _):
        made = await daily_backup(engine, settings.database_url(), cfg.backups(settings),
                                  keep_days=cfg.backup_keep_days)
    out.print(f"backup {made.name} ({made.size} bytes) in {made.path.parent}")
    return 0


async def cmd_backup_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import backup

    found = backup.list_backups(_cfg(args, settings).backups(settings))
    rows = [{"name": b.name, "created": b.created_at.isoformat(timespec="seconds"),
             "engine": b.engine, "size": b.size,
             "intact": not backup.check(b) if args.check else None} for b in found]
    _emit(args, rows, "backups")
    return 0 if all(r["intact"] is not False for r in rows) else 1


async def cmd_backup_restore(args: argparse.Namespace, settings: Settings) -> int:
    from store import backup

    found = {b.name: b for b in backup.list_backups(_cfg(args, settings).backups(settings))}
    chosen = found.get(args.name) if args.name != "latest" else (
        found[max(found, key=lambda n: found[n].created_at)] if found else None)
    if chosen is None:
        err.print(f"no backup {args.name!r}")
        return 1
    settings.daemon.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        await backup.restore(chosen, settings.database_url())
    except backup.BackupError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        return 1
    out.print(f"restored {chosen.name}")
    return 0


def add_parser(subparsers: Any) -> None:
    """Register ``archive`` and ``backup`` on the `pecora` parser's subparsers."""
    def add(parent: Any, name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    arch = subparsers.add_parser("archive", help="legal archive (conservazione)")
    sub = arch.add_subparsers(dest="archive", required=True)
    verify = add(sub, "verify", cmd_verify, "recompute every hash and the chain")
    verify.add_argument("--json", action="store_true")
    search = add(sub, "search", cmd_search, "find units by name, codice fiscale, VAT, dates")
    search.add_argument("--name")
    search.add_argument("--cf", help="codice fiscale")
    search.add_argument("--vat", help="partita IVA (IT prefix optional)")
    search.add_argument("--from", dest="date_from", type=_date)
    search.add_argument("--to", dest="date_to", type=_date)
    search.add_argument("--kind")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--json", action="store_true")
    export = add(sub, "export", cmd_export, "write a pacchetto di distribuzione (zip)")
    export.add_argument("--from", dest="date_from", type=_date)
    export.add_argument("--to", dest="date_to", type=_date)
    export.add_argument("--id", action="append", help="unit identifier (repeatable)")
    export.add_argument("--out", type=Path, required=True)
    package = add(sub, "package", cmd_package, "close the pending pacchetti di versamento")
    package.add_argument("--all", action="store_true", help="include units archived today")
    package.add_argument("--json", action="store_true")

    bak = subparsers.add_parser("backup", help="database and archive-index backups")
    bsub = bak.add_subparsers(dest="backup", required=True)
    add(bsub, "now", cmd_backup_now, "back up now and prune old backups")
    listing = add(bsub, "list", cmd_backup_list, "list backups")
    listing.add_argument("--check", action="store_true", help="re-hash every file")
    listing.add_argument("--json", action="store_true")
    restore = add(bsub, "restore", cmd_backup_restore, "restore into an empty database")
    restore.add_argument("name", help="backup name, or 'latest'")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one archive/backup command alone (the same as through `pecora`)."""
    parser = argparse.ArgumentParser(prog="pecora")
    parser.add_argument("--config", type=Path)
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        result: int = asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red]\n{exc}", highlight=False)
        return 2
    except Exception as exc:
        from daemon.services import SchemaOutOfDate

        if isinstance(exc, SchemaOutOfDate):
            err.print(f"[red]{exc}[/red]", highlight=False)
            return 2
        raise
    return result


if __name__ == "__main__":
    sys.exit(main())
