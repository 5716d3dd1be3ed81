"""`pecora invoice new|send|resend|list|show|parties`: the operator's side of active invoicing.

Conventions of `daemon.cli`: rich tables or ``--json``; exit 0 fine, 1 the invoice is not fine
(SdI would reject it, it cannot be sent, not found), 2 usage or configuration error. ``N`` is
the invoice's Numero (the newest with that Numero) or ``#id``. `main` runs it standalone
(``python -m daemon.cli_invoice ...``) until `pecora` wires `add_parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tomllib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from daemon.cli import _emit, err, out
from daemon.config import ConfigError, Settings, load_settings
from daemon.config_invoicing import InvoicingSettings


def _cfg(settings: Settings) -> InvoicingSettings:
    return getattr(settings, "invoicing", None) or InvoicingSettings()


def _sender(settings: Settings, cfg: InvoicingSettings) -> str:
    if cfg.sender:
        return cfg.sender
    if settings.sandbox.enabled:
        return settings.sandbox.user_address
    channel = settings.channels.get(cfg.channel)
    if channel is None or not channel.sender:
        raise ConfigError(f"[invoicing] sender or [channels.{cfg.channel}] sender is required")
    return channel.sender


async def _find(session: Any, ref: str) -> Any:
    from store import invoices

    if ref.startswith("#") and ref[1:].isdigit():
        return await invoices.get(session, int(ref[1:]))
    return await invoices.by_numero(session, ref)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from daemon import invoicing, schemas
    from daemon.services import open_services
    from handlers.active.draft import BadDraft, parse
    from store.clock import utcnow

    cfg = _cfg(settings)
    async with open_services(settings, migrate_db=False) as svc:
        if args.invoice_cmd == "parties":
            return await _parties(svc, Path(args.file))
        if args.invoice_cmd in ("list", "show"):
            return await _list(svc, args) if args.invoice_cmd == "list" else await _show(svc, args)
        signer = invoicing.load_signer(cfg, sandbox=settings.sandbox.enabled)
        official = schemas.load(settings.daemon.data_dir)
        ctx = invoicing.SendContext(cfg, signer, svc.archive, _sender(settings, cfg), official)
        try:
            if args.invoice_cmd == "new":
                path = Path(args.file)
                content = await asyncio.to_thread(path.read_bytes)
                draft = parse(content, path.name, customer=args.customer)
                async with svc.sessions() as s, s.begin():
                    inv = await invoicing.create_invoice(s, draft, cfg=cfg, now=utcnow())
                    numero, invoice_id = inv.numero, inv.id
                out.print(f"invoice {numero} created (#{invoice_id})")
                if not args.send:
                    return 0
                refs = [f"#{invoice_id}"]
            else:
                refs = args.numbers
            for ref in refs:
                async with svc.sessions() as s, s.begin():
                    inv = await _find(s, ref)
                    if inv is None:
                        err.print(f"no invoice {ref}")
                        return 1
                    tx = await invoicing.send_invoice(s, inv.id, ctx, now=utcnow())
                out.print(f"invoice {inv.numero}: {tx.file_name} queued for {tx.sdi_address}")
        except (BadDraft, invoicing.InvoiceError) as exc:
            err.print(str(exc))
            return 1
    return 0


async def _parties(svc: Any, path: Path) -> int:
    """Upsert the address book from TOML: ``[parties.<key>] role kind ... fields``."""
    from handlers.active.parties import PartyData, kind_for, problems
    from store import parties
    from store.clock import utcnow
    from store.models_parties import PartyKind, PartyRole

    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    data = tomllib.loads(text).get("parties", {})
    async with svc.sessions() as s, s.begin():
        for key, fields in data.items():
            fields = dict(fields)
            role = PartyRole(fields.pop("role", "customer"))
            albo = fields.pop("albo_member", None)
            kind = fields.pop("kind", None) or kind_for(
                fields.get("codice_destinatario"), fields.get("nazione", "IT"))
            pure = PartyData(key=key, kind=kind, **fields)
            bad = problems(pure, seller=role is PartyRole.SELLER)
            if bad:
                err.print(f"{key}: " + "; ".join(bad))
                return 1
            await parties.upsert(s, key, role=role, kind=PartyKind(kind), fields=fields,
                                 now=utcnow())
            if albo:
                await parties.link_albo(s, key, albo, now=utcnow())
    out.print(f"{len(data)} parties saved")
    return 0


async def _list(svc: Any, args: argparse.Namespace) -> int:
    from store import invoices
    from store.models_active import InvoiceState

    async with svc.sessions() as s:
        rows = await invoices.listing(
            s, states=[InvoiceState(x) for x in args.state or []], customer_key=args.customer,
            since=date.fromisoformat(args.since) if args.since else None,
            until=date.fromisoformat(args.until) if args.until else None,
            pa=True if args.pa else (False if args.b2b else None), limit=args.limit)
    _emit(args, [{
        "numero": r.invoice.numero, "date": r.invoice.data.isoformat(),
        "customer": r.customer.denominazione or f"{r.customer.nome} {r.customer.cognome}",
        "total": r.invoice.total, "file": r.transmission.file_name if r.transmission else None,
        "sdi_id": r.transmission.identificativo_sdi if r.transmission else None,
        "state": r.invoice.state.value,
        "last_event": r.last_event.kind if r.last_event else None,
        "at": r.last_event.occurred_at.isoformat(timespec="seconds") if r.last_event else None,
    } for r in rows], "invoices")
    return 0


async def _show(svc: Any, args: argparse.Namespace) -> int:
    from store import invoices

    async with svc.sessions() as s:
        inv = await _find(s, args.number)
        if inv is None:
            err.print(f"no invoice {args.number}")
            return 1
        events = await invoices.history(s, inv.id)
        files = await invoices.transmissions(s, inv.id)
    rows = [{
        "at": e.occurred_at.isoformat(timespec="seconds"), "source": e.source, "kind": e.kind,
        "state": f"{e.from_state or ''} -> {e.to_state}" if e.to_state else "",
        "detail": e.detail, "file": e.archive_name,
    } for e in events]
    errors = [x for e in events for x in (e.data or {}).get("errors", [])]
    if args.json:
        print(json.dumps({"numero": inv.numero, "state": inv.state.value,
                          "files": [t.file_name for t in files], "events": rows,
                          "sdi_errors": errors}, default=str, indent=2, ensure_ascii=False))
        return 0
    out.print(f"[bold]{inv.tipo_documento} {inv.numero}[/bold] del {inv.data} - "
              f"{inv.total} EUR - {inv.state.value}")
    _emit(args, rows, "history")
    for e in errors:  # after an NS: what SdI said and what to do (issue 5 §5)
        out.print(f"  {e['code']} {e['description']}\n     -> {e['suggestion']}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``invoice`` to ``pecora``'s subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser("invoice", help="active invoicing")
    sub = parser.add_subparsers(dest="invoice_cmd", required=True)
    new = sub.add_parser("new", help="create an invoice from a TOML/JSON/CSV description")
    new.add_argument("file")
    new.add_argument("--customer", help="address-book key (needed for a CSV of lines)")
    new.add_argument("--send", action="store_true", help="send it at once")
    for name, help_ in (("send", "send drafts"), ("resend", "resend after a rejection")):
        cmd = sub.add_parser(name, help=help_)
        cmd.add_argument("numbers", nargs="+", metavar="N")
    listing = sub.add_parser("list", help="invoices with their state and last event")
    listing.add_argument("--state", action="append")
    listing.add_argument("--customer")
    listing.add_argument("--since")
    listing.add_argument("--until")
    kind = listing.add_mutually_exclusive_group()
    kind.add_argument("--pa", action="store_true")
    kind.add_argument("--b2b", action="store_true")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="the whole history of an invoice")
    show.add_argument("number", metavar="N")
    show.add_argument("--json", action="store_true")
    parties = sub.add_parser("parties", help="save seller profiles and customers from TOML")
    parties.add_argument("file")
    parser.set_defaults(func=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry: ``python -m daemon.cli_invoice [-c CONFIG] invoice ...``."""
    parser = argparse.ArgumentParser(prog="pecora")
    parser.add_argument("-c", "--config", type=Path)
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        return asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        err.print(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
