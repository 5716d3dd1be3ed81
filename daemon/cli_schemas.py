"""`pecora schemas install DIR | show`: the optional official FatturaPA XSD (see daemon.schemas).

Exit codes as elsewhere: 0 done, 1 the files given are not a usable schema, 2 usage error.
Needs no configuration file beyond the data directory (``--data-dir`` or the default one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from daemon import schemas
from daemon.cli_output import err, out
from daemon.config import default_data_dir


def add_parser(subparsers: Any) -> None:
    """Add ``schemas install`` and ``schemas show`` to the CLI."""
    p = subparsers.add_parser("schemas", help="the optional official FatturaPA XSD")
    sub = p.add_subparsers(dest="schemas", required=True)
    inst = sub.add_parser("install", help="check and install the XSD files from DIR")
    inst.add_argument("source", type=Path, metavar="DIR",
                      help=f"directory with {schemas.FILES[0]} and {schemas.FILES[1]}")
    show = sub.add_parser("show", help="whether a schema is installed, and its SHA-256")
    show.add_argument("--json", action="store_true")
    for q in (inst, show):
        q.add_argument("--data-dir", type=Path, default=None,
                       help="data directory (default: $PECORA_DATA_DIR or the usual one)")
        q.set_defaults(needs_settings=False)
    inst.set_defaults(func=cmd_install)
    show.set_defaults(func=cmd_show)


async def cmd_install(args: argparse.Namespace, settings: object) -> int:
    data_dir = args.data_dir or default_data_dir()
    try:
        target = schemas.install(args.source, data_dir)
    except schemas.SchemaError as exc:
        err.print(f"[red]not installed[/red]: {exc}", highlight=False)
        return 1
    out.print(f"official FatturaPA schema installed in {target}: invoices are now also "
              "validated against it when sent and inspected", highlight=False)
    return 0


async def cmd_show(args: argparse.Namespace, settings: object) -> int:
    data_dir = args.data_dir or default_data_dir()
    where = schemas.schemas_dir(data_dir)
    files = {name: hashlib.sha256((where / name).read_bytes()).hexdigest()
             for name in schemas.FILES if (where / name).is_file()}
    ok = schemas.installed(data_dir)
    if args.json:
        print(json.dumps({"installed": ok, "directory": str(where), "sha256": files}))
    elif ok:
        out.print(f"installed in {where}", highlight=False)
        for name, digest in files.items():
            out.print(f"  {name}  sha256 {digest}", highlight=False)
    else:
        out.print(f"no official schema installed (pecora schemas install DIR puts it in {where})",
                  highlight=False)
    return 0
