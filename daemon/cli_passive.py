"""`pecora passive list|show|accept|refuse`: received supplier invoices and their decisions.

Wired into daemon/cli.py by `add_parser`; also runnable alone (``python -m daemon.cli_passive``).
Same conventions as cli.py: rich tables, ``--json`` on listings, exit 0 fine, 1 the thing asked
about is not fine (not found, decision refused: the message says why), 2 usage or config error.
Decisions go through ``store.passive.accept/refuse``, the same use-cases the bot calls.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.cli_output import emit as _emit
from daemon.cli_output import err, out
from daemon.config import ConfigError, Settings, load_settings
from daemon.config_passive import PassiveSettings, decision_policy


def _passive(settings: Settings) -> PassiveSettings:
    found = getattr(settings, "passive", None)
    return found if isinstance(found, PassiveSettings) else PassiveSettings()


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    from daemon.services import prepare_database
    from store.db import create_engine, session_factory

    engine = create_engine(settings.database_url())
    try:
        await prepare_database(engine, auto_migrate=False)
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()




def _deadline(file: Any, inv: Any, now: dt.datetime) -> str | None:
    if not file.ec_required:
        return None
    if inv.dt_at or file.dt_at:
        return "DT (terms expired)"
    left = file.deadline - now
    when = file.deadline.date().isoformat()
    return f"{when} (expired)" if left.total_seconds() < 0 else f"{when} ({left.days}d left)"


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import passive
    from store.clock import utcnow
    from store.models_passive import ReviewState

    now = utcnow()
    state = ReviewState.TO_REVIEW if args.to_review else (
        ReviewState(args.state) if args.state else None)
    async with _session(settings) as session:
        rows = await passive.listing(
            session, state=state, supplier=args.supplier, since=args.since, until=args.until,
            deadline_within=dt.timedelta(days=args.deadline_soon)
            if args.deadline_soon is not None else None,
            now=now, limit=args.limit)
    _emit(args, [{
        "id": r.invoice.id, "supplier": r.invoice.seller_name,
        "vat": r.invoice.seller_country + r.invoice.seller_code,
        "type": r.invoice.tipo_documento, "number": r.invoice.numero,
        "date": r.invoice.data.isoformat(), "total": r.invoice.importo_totale,
        "state": r.invoice.state.value, "ec": "PA" if r.file.ec_required else "B2B",
        "deadline": _deadline(r.file, r.invoice, now), "signature": r.file.signature,
        "deliveries": r.deliveries,
    } for r in rows], "received invoices")
    return 0


async def _html(settings: Settings, sha256: str) -> str:
    from handlers.formats import fatturapa, p7m
    from handlers.formats.render import render_html
    from store.archive import FilesystemArchive

    content = await FilesystemArchive(settings.archive_dir).get(sha256)
    if not content.lstrip()[:5].startswith(b"<"):
        content = p7m.unwrap(content).content
    return render_html(fatturapa.parse(content))


async def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from store import passive
    from store.clock import utcnow

    async with _session(settings) as session:
        d = await passive.detail(session, args.id)
    if d is None:
        err.print(f"no received invoice #{args.id}")
        return 1
    inv, f = d.invoice, d.file
    info: dict[str, Any] = {
        "id": inv.id, "supplier": inv.seller_name, "vat": inv.seller_country + inv.seller_code,
        "buyer": inv.buyer_name, "type": inv.tipo_documento, "number": inv.numero,
        "date": inv.data.isoformat(), "currency": inv.divisa, "total": inv.importo_totale,
        "taxable": inv.imponibile, "vat_amount": inv.imposta, "causale": inv.causale,
        "state": inv.state.value, "file": f.file_name, "position": inv.position,
        "identificativo_sdi": f.identificativo_sdi, "delivered_at": f.delivered_at,
        "deadline": _deadline(f, inv, utcnow()), "hash_check": f.hash_check,
        "signature": f.signature, "signature_detail": f.signature_detail, "notes": f.notes,
        "lines": [{"n": x.numero_linea, "description": x.descrizione, "qty": x.quantita,
                   "price": x.prezzo_unitario, "total": x.prezzo_totale,
                   "vat": x.aliquota_iva, "natura": x.natura} for x in d.lines],
        "payments": [{"terms": p.condizioni, "method": p.modalita, "due": p.scadenza,
                      "amount": p.importo, "iban": p.iban} for p in d.payments],
        "attachments": [{"name": a.safe_name, "size": a.size, "sha256": a.sha256}
                        for a in d.attachments],
        "decisions": [{"decision": x.decision.value, "by": x.actor, "at": x.at,
                       "reason": x.reason, "note": x.note} for x in d.decisions],
        "ec": [{"file": e.file_name, "esito": e.esito, "state": e.state.value,
                "scarto": e.scarto, "note": e.scarto_note} for e in d.esiti],
        "sdi_messages": [{"type": m.type, "file": m.file_name, "at": m.received_at,
                          "detail": m.detail} for m in d.messages],
        "deliveries": [{"at": x.delivered_at, "duplicate": x.duplicate} for x in d.deliveries],
    }
    if args.html:
        args.html.write_text(await _html(settings, f.file_sha256), encoding="utf-8")
        info["html"] = str(args.html)
    if args.json:
        print(json.dumps(info, default=str, indent=2, ensure_ascii=False))
        return 0
    if f.signature == "tampered" or f.hash_check == "mismatch":
        out.print("[bold red]WARNING: the file does not match its signature or MT Hash[/]")
    for key, value in info.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _emit(argparse.Namespace(json=False), value, key)
        else:
            out.print(f"[bold]{key}[/bold]: {value}")
    return 0


async def _decide(args: argparse.Namespace, settings: Settings, accept: bool) -> int:
    from store import passive
    from store.clock import utcnow

    policy = decision_policy(_passive(settings))
    try:
        async with _session(settings) as session, session.begin():
            if accept:
                result = await passive.accept(session, args.id, actor=args.actor,
                                              reason=args.reason, now=utcnow(), policy=policy)
            else:
                result = await passive.refuse(session, args.id, actor=args.actor,
                                              reason=args.reason or "", now=utcnow(),
                                              policy=policy, reply_to_supplier=not args.no_reply)
    except passive.DecisionError as exc:
        err.print(f"invoice #{args.id}: {exc}")
        return 1
    out.print(f"invoice #{result.invoice_id} {result.state.value}: {result.message}")
    return 0


async def cmd_accept(args: argparse.Namespace, settings: Settings) -> int:
    return await _decide(args, settings, True)


async def cmd_refuse(args: argparse.Namespace, settings: Settings) -> int:
    return await _decide(args, settings, False)


def add_parser(subparsers: Any) -> None:
    """Add ``passive`` and its subcommands to the main parser's subparsers."""
    p = subparsers.add_parser("passive", help="received supplier invoices")
    sub = p.add_subparsers(dest="passive_cmd", required=True)
    ls = sub.add_parser("list", help="list received invoices")
    ls.add_argument("--to-review", action="store_true", help="only those still to decide")
    ls.add_argument("--state", choices=["to-review", "accepted", "refused"])
    ls.add_argument("--supplier", help="name or VAT id (substring)")
    ls.add_argument("--since", type=dt.date.fromisoformat, help="invoice date from (YYYY-MM-DD)")
    ls.add_argument("--until", type=dt.date.fromisoformat, help="invoice date to (YYYY-MM-DD)")
    ls.add_argument("--deadline-soon", type=float, metavar="DAYS",
                    help="PA invoices whose EC deadline is within DAYS")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one invoice in full")
    show.add_argument("id", type=int)
    show.add_argument("--html", type=Path, help="also write the rendered invoice here")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    for name, func in (("accept", cmd_accept), ("refuse", cmd_refuse)):
        c = sub.add_parser(name, help=f"{name} an invoice (EC to SdI for a PA)")
        c.add_argument("id", type=int)
        c.add_argument("--reason", required=name == "refuse")
        c.add_argument("--actor", default=getpass.getuser(), help="who decides (audit)")
        if name == "refuse":
            c.add_argument("--no-reply", action="store_true", help="B2B: no reply to supplier")
        c.set_defaults(func=func)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``passive ...`` alone: ``python -m daemon.cli_passive [--config F] passive list``."""
    parser = argparse.ArgumentParser(prog="pecora")
    parser.add_argument("--config", type=Path)
    add_parser(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        err.print(str(exc))
        return 2
    return int(asyncio.run(args.func(args, settings)))


if __name__ == "__main__":
    sys.exit(main())
