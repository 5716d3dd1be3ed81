"""The `pecora` command line: run the daemon, migrate, and look at queues and mailboxes.

Every listing prints a rich table, or JSON with ``--json`` (for scripts and monitoring).
Exit codes: 0 fine, 1 the thing asked about is not fine, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from daemon.cli_output import emit as _emit
from daemon.cli_output import err, out
from daemon.config import ConfigError, Settings, load_settings
from daemon.logs import setup_logging

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.main import serve

    return await serve(settings)


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from store import migrate
    from store.db import create_engine

    settings.daemon.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(settings.database_url())
    try:
        await migrate.upgrade(engine)
        out.print(f"database at revision {await migrate.current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


def _services(settings: Settings) -> Any:
    from daemon.services import open_services

    return open_services(settings, migrate_db=False)


async def cmd_inbox_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import inbox
    from store.models import InboxState

    async with _services(settings) as svc, svc.sessions() as session:
        states = [InboxState(s) for s in args.state or []]
        items = await inbox.listing(session, states=states, limit=args.limit)
    rows = [
        {
            "id": i.id,
            "received": i.received_at.isoformat(timespec="seconds"),
            "source": i.source + (f":{i.mailbox}" if i.mailbox else ""),
            "state": i.state.value,
            "route": i.route,
            "size": i.size,
            "reason": i.reason,
        }
        for i in items
    ]
    _emit(args, rows, "inbox")
    return 0


async def cmd_inbox_show(args: argparse.Namespace, settings: Settings) -> int:
    from store import inbox

    async with _services(settings) as svc, svc.sessions() as session:
        item = await inbox.get(session, args.id)
    if item is None:
        err.print(f"no inbox item {args.id}")
        return 1
    row = {
        c.key: getattr(item, c.key)
        for c in item.__table__.columns  # type: ignore[attr-defined]
    }
    row["state"] = item.state.value
    if args.json:
        print(json.dumps(row, default=str, indent=2, ensure_ascii=False))
    else:
        for key, value in row.items():
            out.print(f"[bold]{key}[/bold]: {value}")
    return 0


async def cmd_inbox_requeue(args: argparse.Namespace, settings: Settings) -> int:
    from store import inbox
    from store.clock import utcnow

    async with _services(settings) as svc, svc.sessions() as session, session.begin():
        ok = await inbox.requeue(session, args.id, now=utcnow())
    if not ok:
        err.print(f"inbox item {args.id} is not quarantined, shunted or bad: nothing to requeue")
        return 1
    out.print(f"inbox item {args.id} requeued")
    return 0


async def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import outbox
    from store.models import OutboxState

    async with _services(settings) as svc, svc.sessions() as session:
        states = [OutboxState(s) for s in args.state or []]
        items = await outbox.listing(session, states=states, limit=args.limit)
    rows = [
        {
            "id": i.id,
            "channel": i.channel,
            "state": i.state.value,
            "to": ", ".join(i.recipients),
            "message_id": i.message_id,
            "attempts": i.attempts,
            "next_attempt": i.next_attempt_at.isoformat(timespec="seconds"),
            "last_error": i.last_error,
        }
        for i in items
    ]
    _emit(args, rows, "outbox")
    return 0


async def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from store import inbox, mailboxes, outbox

    async with _services(settings) as svc, svc.sessions() as session:
        status: dict[str, Any] = {
            "mode": "sandbox" if settings.sandbox.enabled else "real",
            "node": settings.daemon.node_name,
            "data_dir": str(settings.daemon.data_dir),
            "database": svc.engine.url.render_as_string(hide_password=True),
            "inbox": {s.value: n for s, n in (await inbox.depths(session)).items()},
            "outbox": {s.value: n for s, n in (await outbox.depths(session)).items()},
            "mailboxes": [
                {
                    "mailbox": p.mailbox,
                    "uidvalidity": p.uidvalidity,
                    "last_uid": p.last_uid,
                    "last_error": p.last_error,
                    "last_error_at": p.last_error_at,
                }
                for p in await mailboxes.all_positions(session)
            ],
            "last_errors": [
                {"id": i.id, "state": i.state.value, "reason": i.reason}
                for i in await inbox.listing(session, states=_problem_states(), limit=5)
            ],
        }
    if args.json:
        print(json.dumps(status, default=str, indent=2, ensure_ascii=False))
        return 0
    if settings.sandbox.enabled:
        from daemon.sandbox_mode import BANNER

        out.print(f"[bold yellow]{BANNER}[/bold yellow]")
    out.print(f"node [bold]{status['node']}[/bold], data in {status['data_dir']}")
    out.print(f"database {status['database']}")
    _emit(args, [{"queue": "inbox", **status["inbox"]}], "inbox")
    _emit(args, [{"queue": "outbox", **status["outbox"]}], "outbox")
    if status["mailboxes"]:
        _emit(args, status["mailboxes"], "mailboxes")
    if status["last_errors"]:
        _emit(args, status["last_errors"], "last problems")
    return 0


async def _cmd_sandbox(args: argparse.Namespace, settings: Settings | None) -> int:
    from daemon.sandbox import standalone

    return await standalone.run(args)


def _problem_states() -> list[Any]:
    from store.models import InboxState

    return [InboxState.QUARANTINED, InboxState.SHUNTED, InboxState.BAD]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every `pecora` command."""
    parser = argparse.ArgumentParser(prog="pecora", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="TOML configuration file (or $PECORA_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Command, help_: str, parent: Any = sub) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    def listing(p: argparse.ArgumentParser, states: Sequence[str]) -> None:
        p.add_argument("--state", action="append", choices=list(states))
        p.add_argument("--limit", type=int, default=50)
        p.add_argument("--json", action="store_true")

    add("run", cmd_run, "run the daemon")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    add("upgrade", cmd_db_upgrade, "apply pending migrations", db)

    from store.models import InboxState, OutboxState

    inbox_cmd = sub.add_parser("inbox", help="received items").add_subparsers(
        dest="inbox", required=True
    )
    listing(
        add("list", cmd_inbox_list, "list inbox items", inbox_cmd), [s.value for s in InboxState]
    )
    show = add("show", cmd_inbox_show, "show one inbox item", inbox_cmd)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    requeue = add("requeue", cmd_inbox_requeue, "put a held item back in the queue", inbox_cmd)
    requeue.add_argument("id", type=int)
    outbox_cmd = sub.add_parser("outbox", help="outgoing items").add_subparsers(
        dest="outbox", required=True
    )
    listing(
        add("list", cmd_outbox_list, "list outbox items", outbox_cmd),
        [s.value for s in OutboxState],
    )
    status = add("status", cmd_status, "queue depths, mailbox positions, last errors")
    status.add_argument("--json", action="store_true")
    from daemon import (
        cli_archive,
        cli_invoice,
        cli_messaging,
        cli_passive,
        cli_schemas,
        demo,
        inspect_cmd,
    )

    demo.add_parser(sub)

    cli_invoice.add_parser(sub)
    cli_passive.add_parser(sub)
    cli_archive.add_parser(sub)
    cli_messaging.add_parser(sub)
    cli_schemas.add_parser(sub)
    from daemon.sandbox import standalone

    sandbox = add("sandbox", _cmd_sandbox, "run the sandbox SdI and PEC providers as a process")
    standalone.add_arguments(sandbox)
    sandbox.set_defaults(needs_settings=False)

    # Inspecting a file needs no configuration: a broken $PECORA_CONFIG must not stop it.
    inspect_cmd.add_parser(sub).set_defaults(needs_settings=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pecora` console script."""
    args = build_parser().parse_args(argv)
    if not getattr(args, "needs_settings", True):
        setup_logging()
        return asyncio.run(args.func(args, None))
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red]\n{exc}", highlight=False)
        return 2
    setup_logging(settings.logging.format, settings.logging.level)
    try:
        return asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red]\n{exc}", highlight=False)
        return 2
    except Exception as exc:
        from daemon.services import SchemaOutOfDate

        if isinstance(exc, SchemaOutOfDate):
            err.print(f"[red]{exc}[/red]", highlight=False)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
