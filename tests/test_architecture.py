"""The boundaries of architecture.md §2.4, checked on the source: who may import what, and
`handlers/` stays pure (no async, no asyncio, sockets, SQL or protocol libraries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("daemon", "handlers", "channels", "store", "bot")

FORBIDDEN = {
    "handlers": {
        "daemon",
        "channels",
        "store",
        "bot",
        "asyncio",
        "socket",
        "sqlalchemy",
        "telegram",
        "aiosmtpd",
        "aioimaplib",
        "aiosmtplib",
        "alembic",
        "subprocess",
        "urllib",
        "http",
    },
    "channels": {"daemon", "handlers", "store", "bot", "sqlalchemy"},
    "store": {"daemon", "handlers", "channels", "bot"},
    "bot": {"daemon", "channels", "handlers.run", "handlers.routes"},
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_boundaries(package: str) -> None:
    bad = []
    for path in _modules(package):
        if "migrations" in path.parts:
            continue
        for name in _imports(ast.parse(path.read_text(), str(path))):
            for banned in FORBIDDEN[package]:
                if name == banned or name.startswith(banned + "."):
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_handlers_are_synchronous() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules("handlers")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.AsyncFunctionDef | ast.Await | ast.AsyncWith | ast.AsyncFor)
    ]
    assert bad == []


def test_handlers_do_no_file_io() -> None:
    bad = []
    for path in _modules("handlers"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name in {"open", "read_bytes", "read_text", "write_bytes", "write_text"}:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {name}")
    assert bad == []


def test_every_module_says_its_job() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for package in (*PACKAGES, "tests")
        for path in _modules(package)
        if "versions" not in path.parts
        and not ast.get_docstring(ast.parse(path.read_text()))
        and path.stat().st_size > 0
    ]
    assert missing == []
