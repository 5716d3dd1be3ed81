"""`pecora albo …` and `pecora campaign …`: the Albo and mass-messaging commands (issue 8).

Same conventions as daemon/cli.py: rich tables, ``--json`` on listings, exit 0 fine, 1 the
thing asked about is not fine (rejected rows, unsendable messages), 2 usage or configuration.
``campaign send --wait`` and ``status --watch`` show a live progress bar per channel.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from daemon.cli_output import emit as _emit
from daemon.cli_output import err, out
from daemon.config import ConfigError, Settings, load_settings
from daemon.logs import setup_logging

_FINAL = ("accepted", "delivered", "failed", "suppressed", "cancelled")




def _read_blocking(path: str) -> bytes:
    return Path(path).read_bytes()


def _services(settings: Settings) -> Any:
    from daemon.services import open_services

    return open_services(settings, migrate_db=True)


async def cmd_albo_import(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.messaging.albo_rows import parse_row
    from handlers.messaging.validate import Invalid
    from store import albo
    from store.clock import utcnow

    text = (await asyncio.to_thread(_read_blocking, args.file)).decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    tally = {"created": 0, "updated": 0, "unchanged": 0}
    rejected: list[dict[str, Any]] = []
    async with _services(settings) as svc, svc.sessions() as session, session.begin():
        for row in reader:
            try:
                data = parse_row(row)
            except Invalid as exc:
                mid = (row.get("member_id") or "").strip()
                rejected.append({"line": reader.line_num, "member_id": mid, "reason": str(exc)})
                continue
            _, what = await albo.upsert(session, data, now=utcnow())
            tally[what] += 1
    if args.json:
        print(json.dumps({**tally, "rejected": rejected}, indent=2, ensure_ascii=False))
    else:
        out.print(", ".join(f"{k} {v}" for k, v in tally.items()) + f", rejected {len(rejected)}")
        if rejected:
            _emit(args, rejected, "rejected rows")
    return 1 if rejected else 0


def _member_row(m: Any) -> dict[str, Any]:
    return {
        "member_id": m.member_id,
        "name": m.name,
        "pec": m.pec,
        "email": m.email,
        "mobile": m.mobile,
        "fax": m.fax,
        "postal": ", ".join(v for v in (m.postal or {}).values() if v) or None,
        "tags": ";".join(m.tags),
        "opted_out": ";".join(m.opted_out),
    }


async def cmd_albo_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import albo

    async with _services(settings) as svc, svc.sessions() as session:
        members = await albo.listing(session, tag=args.tag, limit=args.limit)
    _emit(args, [_member_row(m) for m in members], "albo")
    return 0


async def cmd_albo_show(args: argparse.Namespace, settings: Settings) -> int:
    from store import albo

    async with _services(settings) as svc, svc.sessions() as session:
        m = await albo.get(session, args.member_id)
    if m is None:
        err.print(f"no member {args.member_id}")
        return 1
    row = {**_member_row(m), "consent": m.consent, "fields": m.fields, "postal": m.postal}
    if args.json:
        print(json.dumps(row, default=str, indent=2, ensure_ascii=False))
    else:
        for key, value in row.items():
            out.print(f"[bold]{key}[/bold]: {value}")
    return 0


async def cmd_campaign_create(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.messaging.templates import TemplateProblem, check
    from store import campaigns
    from store.clock import utcnow

    body = (
        (await asyncio.to_thread(_read_blocking, args.body_file)).decode()
        if args.body_file
        else args.body
    )
    pdf = await asyncio.to_thread(_read_blocking, args.attachment) if args.attachment else None
    try:
        check(args.subject, "subject")
        check(body or "", "body")
    except TemplateProblem as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    sender = args.sender or _default_sender(settings, args.channel)
    if sender is None and {"email", "pec"} & set(args.channel):
        err.print("[red]e-mail and PEC campaigns need --sender (no channel has a sender)[/red]")
        return 2
    segment = {"tags_all": args.tag or [], "tags_any": args.any_tag or []}
    segment["tags_none"] = args.exclude_tag or []
    async with _services(settings) as svc, svc.sessions() as session, session.begin():
        sha = await svc.archive.put(pdf) if pdf is not None else None
        now = utcnow()
        until = (
            now + timedelta(hours=args.deliver_until_hours) if args.deliver_until_hours else None
        )
        cid = await campaigns.create(
            session,
            campaigns.NewCampaign(
                name=args.name,
                subject=args.subject,
                body=body or "",
                channels=tuple(args.channel),
                segment=segment,
                sender=sender,
                attachment_sha256=sha,
                attachment_name=Path(args.attachment).name if args.attachment else None,
                error_threshold=args.error_threshold,
                deliver_until=until,
            ),
            now=now,
        )
    out.print(f"campaign {cid} created (draft): preview it, then `pecora campaign send {cid}`")
    return 0


def _default_sender(settings: Settings, channels: list[str]) -> str | None:
    """The sender of the first e-mail/PEC channel the campaign uses that has one; in sandbox
    mode the sandbox PEC account (the sandbox's channels send as it)."""
    aliases = settings.campaigns.aliases(settings.channels)
    for name in channels:
        cfg = settings.channels.get(aliases.get(name, ""))
        if name in ("email", "pec") and cfg is not None and cfg.sender:
            return cfg.sender
    return settings.sandbox.user_address if settings.sandbox.enabled else None


async def cmd_campaign_preview(args: argparse.Namespace, settings: Settings) -> int:
    from daemon.messaging import campaign_runner
    from daemon.sandbox.messaging import stand_in_aliases
    from store import albo, campaigns
    from store.clock import utcnow

    problems: list[dict[str, Any]] = []
    shown, planned = 0, {"queued": 0, "suppressed": 0, "failed": 0, "not in segment": 0}
    async with _services(settings) as svc, svc.sessions() as session:
        campaign = await campaigns.get(session, args.campaign)
        if campaign is None:
            err.print(f"no campaign {args.campaign}")
            return 1
        # plan with the channels the daemon will have (in sandbox mode: its stand-ins)
        runner = campaign_runner(svc, settings.campaigns, stand_in_aliases(settings))
        planner = await runner.planner(campaign)
        after = 0
        while members := await albo.page(session, after=after, limit=500):
            after = members[-1].id
            for m in members:
                d = planner.plan(m, now=utcnow())
                if d is None:
                    planned["not in segment"] += 1
                    continue
                planned[d.state.value] += 1
                if d.state.value == "suppressed" or d.detail:
                    problems.append(
                        {
                            "member_id": m.member_id,
                            "channel": d.channel,
                            "state": d.state.value,
                            "why": d.detail,
                        }
                    )
                if d.outgoing is not None and shown < args.show and not args.json:
                    shown += 1
                    out.rule(f"{m.member_id} via {d.channel} ({d.address})")
                    out.print(d.outgoing.payload.decode(errors="replace")[:2000], markup=False)
            if not args.dry_run and shown >= args.show:
                break
    if args.json:
        print(json.dumps({"counts": planned, "problems": problems}, indent=2, ensure_ascii=False))
    else:
        out.print(", ".join(f"{k} {v}" for k, v in planned.items()))
        if problems:
            _emit(args, problems, "recipients that cannot get it on their first channel")
    return 1 if planned["suppressed"] or planned["failed"] else 0


async def _set(args: argparse.Namespace, settings: Settings, state: str) -> int:
    from store import campaigns
    from store.clock import utcnow
    from store.models_messaging import CampaignState

    allowed = {
        "running": {"draft", "paused"},
        "paused": {"running"},
        "cancelled": {"draft", "running", "paused"},
    }
    async with _services(settings) as svc, svc.sessions() as session, session.begin():
        c = await campaigns.get(session, args.campaign)
        if c is None or c.state.value not in allowed[state]:
            err.print(
                f"campaign {args.campaign}: cannot go to {state} from "
                f"{c.state.value if c else 'nowhere'}"
            )
            return 1
        n = await campaigns.set_state(
            session, c.id, CampaignState(state), now=utcnow(), reason="operator"
        )
        cid = c.id
    out.print(f"campaign {cid} {state} ({n} queued messages affected)")
    if state == "running" and getattr(args, "wait", False):
        return await _watch(settings, cid, until_done=True)
    return 0


async def cmd_campaign_send(args: argparse.Namespace, settings: Settings) -> int:
    return await _set(args, settings, "running")


async def cmd_campaign_pause(args: argparse.Namespace, settings: Settings) -> int:
    return await _set(args, settings, "paused")


async def cmd_campaign_resume(args: argparse.Namespace, settings: Settings) -> int:
    return await _set(args, settings, "running")


async def cmd_campaign_cancel(args: argparse.Namespace, settings: Settings) -> int:
    return await _set(args, settings, "cancelled")


async def _status_rows(session: Any, ref: str | None) -> list[dict[str, Any]]:
    from store import campaigns
    from store.campaign_reports import counts

    rows = []
    chosen = [await campaigns.get(session, ref)] if ref else await campaigns.listing(session)
    for c in chosen:
        if c is None:
            continue
        rows.append(
            {
                "id": c.id,
                "name": c.name,
                "state": c.state.value,
                "paused_reason": c.paused_reason,
                "channels": await counts(session, c.id),
            }
        )
    return rows


async def _watch(settings: Settings, cid: int, *, until_done: bool) -> int:
    async with _services(settings) as svc:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=out,
        ) as progress:
            bars: dict[str, Any] = {}
            while True:
                async with svc.sessions() as session:
                    (row,) = await _status_rows(session, str(cid))
                for channel, states in row["channels"].items():
                    total = sum(states.values())
                    done = sum(n for s, n in states.items() if s in _FINAL)
                    detail = " ".join(f"{s}={n}" for s, n in sorted(states.items()))
                    if channel not in bars:
                        bars[channel] = progress.add_task(channel, total=total, detail="")
                    progress.update(bars[channel], total=total, completed=done, detail=detail)
                if row["state"] in ("done", "cancelled", "paused") and until_done:
                    return 0 if row["state"] == "done" else 1
                await asyncio.sleep(0.5)


async def cmd_campaign_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.watch and args.campaign:
        async with _services(settings) as svc, svc.sessions() as session:
            (row,) = await _status_rows(session, args.campaign)
        return await _watch(settings, row["id"], until_done=True)
    async with _services(settings) as svc, svc.sessions() as session:
        rows = await _status_rows(session, args.campaign)
        if args.report:
            if not rows:
                err.print(f"no campaign {args.campaign}")
                return 1
            n = await _export(session, rows[0]["id"], Path(args.report))
            out.print(f"{n} recipients written to {args.report}")
            return 0
    if args.json:
        print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))
        return 0
    flat = [
        {
            "id": r["id"],
            "name": r["name"],
            "state": r["state"],
            "channel": ch,
            **{
                s: states.get(s, 0)
                for s in (
                    "queued",
                    "failed-temporary",
                    "submitted",
                    "accepted",
                    "delivered",
                    "failed",
                    "suppressed",
                    "cancelled",
                )
            },
        }
        for r in rows
        for ch, states in (r["channels"] or {"-": {}}).items()
    ]
    _emit(args, flat, "campaigns")
    return 0


async def _export(session: Any, cid: int, path: Path) -> int:
    """The per-recipient report: one line per delivery, with its evidence."""
    from store import campaign_reports as rep

    columns = [
        "member_id",
        "name",
        "channel",
        "address",
        "state",
        "provider_ref",
        "detail",
        "updated_at",
        "events",
        "pec_receipts",
    ]
    n, after = 0, 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        while rows := await rep.deliveries(session, cid, after=after):
            after = rows[-1].id
            members = await rep.members_of(session, [d.member_pk for d in rows])
            events = await rep.events_of(session, [d.id for d in rows])
            receipt_ids = [
                e.pec_receipt_id for evs in events.values() for e in evs if e.pec_receipt_id
            ]
            proof = await rep.receipt_evidence(session, receipt_ids)
            for d in rows:
                evs = events.get(d.id, [])
                m = members[d.member_pk]
                writer.writerow(
                    {
                        "member_id": m.member_id,
                        "name": m.name,
                        "channel": d.channel,
                        "address": d.address,
                        "state": d.state.value,
                        "provider_ref": d.provider_ref,
                        "detail": d.detail,
                        "updated_at": d.updated_at.isoformat(),
                        "events": " ".join(f"{e.source}:{e.status}" for e in evs),
                        "pec_receipts": " ".join(
                            f"{proof[e.pec_receipt_id][0]}:sha256:{proof[e.pec_receipt_id][1]}"
                            for e in evs
                            if e.pec_receipt_id in proof
                        ),
                    }
                )
                n += 1
    return n


def add_parser(sub: Any) -> None:
    """Add ``albo`` and ``campaign`` to `pecora`'s subcommands."""

    def add(parent: Any, name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    albo = sub.add_parser("albo", help="the register of members").add_subparsers(
        dest="albo", required=True
    )
    p = add(albo, "import", cmd_albo_import, "import or update members from a CSV file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p = add(albo, "list", cmd_albo_list, "list members")
    p.add_argument("--tag")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = add(albo, "show", cmd_albo_show, "show one member")
    p.add_argument("member_id")
    p.add_argument("--json", action="store_true")

    camp = sub.add_parser("campaign", help="mass messaging to the Albo").add_subparsers(
        dest="campaign_cmd", required=True
    )
    p = add(camp, "create", cmd_campaign_create, "create a draft campaign")
    p.add_argument("--name", required=True)
    p.add_argument("--subject", required=True)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body")
    body.add_argument("--body-file")
    p.add_argument(
        "--channel",
        action="append",
        required=True,
        choices=["pec", "email", "sms", "fax", "registered-mail"],
        help="repeat for an ordered preference with fallback",
    )
    p.add_argument("--tag", action="append", help="members must have every --tag")
    p.add_argument("--any-tag", action="append", help="members need one of these")
    p.add_argument("--exclude-tag", action="append")
    p.add_argument("--sender", help="From address of e-mail and PEC (default: the channel's "
                   "sender; in sandbox mode the sandbox PEC account)")
    p.add_argument("--attachment", help="one PDF (needed for fax and registered mail)")
    p.add_argument("--error-threshold", type=int, default=50)
    p.add_argument("--deliver-until-hours", type=float)
    p = add(camp, "preview", cmd_campaign_preview, "render messages; --dry-run checks all")
    p.add_argument("campaign")
    p.add_argument("--show", type=int, default=2)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--json", action="store_true")
    for name, func, help_ in (
        ("send", cmd_campaign_send, "start sending"),
        ("pause", cmd_campaign_pause, "stop sending for now"),
        ("resume", cmd_campaign_resume, "go on after a pause"),
        ("cancel", cmd_campaign_cancel, "send nothing more"),
    ):
        p = add(camp, name, func, help_)
        p.add_argument("campaign")
        if name == "send":
            p.add_argument("--wait", action="store_true", help="show progress until done")
    p = add(camp, "status", cmd_campaign_status, "counts per channel and state")
    p.add_argument("campaign", nargs="?")
    p.add_argument("--json", action="store_true")
    p.add_argument("--watch", action="store_true")
    p.add_argument("--report", help="write the per-recipient CSV report here")


def main(argv: Sequence[str] | None = None) -> int:
    """Run these commands alone (tests; `pecora` will carry them once wired)."""
    parser = argparse.ArgumentParser(prog="pecora")
    parser.add_argument("--config", type=Path)
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red]\n{exc}", highlight=False)
        return 2
    setup_logging(settings.logging.format, "WARNING")
    return asyncio.run(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
