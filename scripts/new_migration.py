"""Write a new Alembic migration by comparing the models with a database at the current heads.

usage: .venv/bin/python scripts/new_migration.py REV_ID "message" [--head PARENT]

Feature areas keep their own migration line: ``--head`` names the parent revision (default:
the single current head; with several heads, one must be chosen). The file lands in
store/migrations/versions/; review it before committing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import command

from store import migrate
from store.db import create_engine


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rev_id")
    parser.add_argument("message")
    parser.add_argument("--head", help="parent revision (a branch head)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/gen.db")
        await migrate.upgrade(engine, "heads")
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.revision(
                    migrate._config(c),
                    message=args.message,
                    autogenerate=True,
                    rev_id=args.rev_id,
                    head=args.head or "head",
                )
            )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
