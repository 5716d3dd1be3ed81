"""How every `pecora` command prints: rich tables for people, JSON with ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages are grepped: never wrap them


def emit(args: argparse.Namespace, rows: list[dict[str, Any]], title: str) -> None:
    """Print ``rows`` as a table titled ``title``, or as JSON when ``--json`` was given."""
    if getattr(args, "json", False):
        print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))
        return
    table = Table(title=title)
    for key in rows[0] if rows else ["(empty)"]:
        table.add_column(key)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)
