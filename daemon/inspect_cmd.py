"""`pecora inspect PATH... [--json] [--trust FILE]...`: what is this file, and is it all right?

Reads each file, hands the bytes to `handlers.formats.identify` (pure) and prints a rich tree
for people or JSON for scripts. Trust anchors for the signature checks come from ``--trust``
(repeatable, PEM bundle or DER); with none, every signature reports ``no_trust_anchors`` and
counts as not verified. Invoices are also validated against the official XSD when one is
installed (`pecora schemas install`) or given with ``--xsd DIR``. Exit codes: 0 everything
checks, 1 findings (signatures not verified included), 2 a file (or a trust anchor, or the
XSD) cannot be read or is of no known kind.

Wire into `daemon.cli.build_parser` with ``inspect_cmd.add_parser(sub)``; it also runs alone
as ``python -m daemon.inspect_cmd``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from daemon import schemas
from daemon.config import default_data_dir
from handlers.formats.fatturapa import OfficialSchema, SchemaError
from handlers.formats.identify import Identification, Issue, Kind, exit_code, identify
from handlers.formats.sig_common import BadCertificate
from handlers.formats.trust import TrustStore

HELP = (
    "identify and check invoices, SdI messages and PEC mail "
    "(exit 0 ok, 1 findings, 2 unreadable)"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``inspect`` sub-command to a ``add_subparsers()`` object."""
    p: argparse.ArgumentParser = subparsers.add_parser("inspect", help=HELP, description=HELP)
    configure(p)
    p.set_defaults(func=cmd_inspect)
    return p


def configure(p: argparse.ArgumentParser) -> None:
    """The arguments of ``inspect`` (shared by the sub-command and the stand-alone entry)."""
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files to inspect")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    p.add_argument("--trust", action="append", type=Path, default=[], metavar="FILE",
                   help="trust anchor certificate(s), PEM or DER (repeatable)")
    p.add_argument("--at", type=_instant, metavar="ISO8601",
                   help="judge signatures at this instant instead of their signing time")
    p.add_argument("--xsd", type=Path, metavar="DIR",
                   help="also validate invoices against the official XSD files in DIR "
                        "(default: the one `pecora schemas install` put in the data directory)")


def _instant(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


async def cmd_inspect(args: argparse.Namespace, settings: object) -> int:
    """`daemon.cli` command signature; inspecting needs no configuration or database."""
    return run(args)


def _trust(paths: Sequence[Path]) -> TrustStore:
    return TrustStore.from_bytes([p.read_bytes() for p in paths])


def _official(source: Path | None) -> OfficialSchema | None:
    if source is None:
        return schemas.load(default_data_dir())
    return OfficialSchema(*schemas.read_pair(source))


def _unreadable(path: Path, why: str) -> Identification:
    return Identification(str(path), Kind.UNKNOWN, "unreadable", False, {},
                          (Issue(None, why),))


def run(args: argparse.Namespace, out: Console | None = None) -> int:
    """Inspect ``args.paths``; print; return the exit code."""
    out = out or Console(highlight=False)
    try:
        trust = _trust(args.trust)
    except (OSError, BadCertificate) as exc:
        Console(stderr=True).print(Text(f"cannot load trust anchors: {exc}", style="red"))
        return 2
    try:
        official = _official(args.xsd)
    except (OSError, SchemaError) as exc:
        Console(stderr=True).print(Text(f"cannot load the official XSD: {exc}", style="red"))
        return 2
    results: list[tuple[Path, Identification]] = []
    for path in args.paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            results.append((path, _unreadable(path, f"cannot read: {exc.strerror or exc}")))
            continue
        try:
            result = identify(data, path.name, trust=trust, at=args.at, official=official)
        except Exception as exc:  # a bug of ours must not hide the other files' verdicts
            result = _unreadable(path, f"internal error, please report: "
                                       f"{type(exc).__name__}: {exc}")
        results.append((path, result))
    code = exit_code(r for _, r in results)
    if args.json:
        doc = {"exit_code": code, "trust_anchors": len(trust.anchors),
               "files": [{"path": str(p), **r.to_dict()} for p, r in results]}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for path, result in results:
            out.print(_tree(result, str(path)))
        if not trust.anchors:
            out.print(Text("no --trust anchors given: no signature can be verified",
                           style="yellow"))
    return code


# --- human output -------------------------------------------------------------------------


def _clean(value: object) -> str:
    """Values come from hostile files: no terminal control sequences, no bidi tricks."""
    text = str(value)
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf") else "?" for ch in text)


def _scalar(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_scalar(v)}" for k, v in value.items() if v not in (None, [], {}))
    if isinstance(value, list):
        return "; ".join(_scalar(v) for v in value)
    return _clean(value)


def _tree(r: Identification, label: str) -> Tree:
    mark, style = ("✔", "green") if r.ok else ("✘", "red") if r.readable else ("?", "red")
    head = Text(f"{mark} ", style=style)
    head.append(_clean(label), style="bold")
    head.append(f"  {r.kind.value} {_clean(r.format)}")
    tree = Tree(head)
    for key, value in r.fields.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            sub = tree.add(Text(key, style="cyan"))
            for item in value:
                sub.add(Text(_scalar(item)))
        else:
            line = Text(f"{key}: ", style="cyan")
            line.append(_scalar(value))
            tree.add(line)
    for issue in r.issues:
        style = "red" if issue.severity == "error" else "yellow"
        line = Text(f"{issue.severity} {issue.code or '-----'} ", style=style)
        line.append(_clean(issue.message))
        if issue.where:
            line.append(f"  ({_clean(issue.where)})", style="dim")
        tree.add(line)
    for sig in r.signatures:
        v = sig.verdict
        line = Text(f"{sig.format} signature ", style="bold")
        line.append("verified" if v.ok else f"NOT verified ({v.failure.value if v.failure else '?'}"
                    f"{', ' + sig.sdi_code if sig.sdi_code else ''})",
                    style="green" if v.ok else "red")
        line.append(f": {_clean(v.signer_subject or '')} at {v.signing_time}  {_clean(v.reason)}")
        tree.add(line)
    for part in r.parts:
        tree.add(_tree(part, part.name))
    return tree


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m daemon.inspect_cmd PATH...``."""
    parser = argparse.ArgumentParser(prog="pecora inspect", description=HELP)
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
