"""The `pecora` CLI in-process: listings as JSON, show, requeue, status, and error exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.cli import main
from store import inbox
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import InboxState


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PECORA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PECORA_CONFIG", raising=False)
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


async def _seed(data_dir: Path) -> int:
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'pecora.db'}")
    try:
        async with session_factory(engine)() as s, s.begin():
            put = await inbox.put(s, inbox.Received("lmtp", "a" * 64, 10), now=utcnow())
            await inbox.claim(s, "n", limit=1, now=utcnow())
            await inbox.finish(
                s, put.item_id, InboxState.QUARANTINED, reason="no route", now=utcnow()
            )
            return put.item_id
    finally:
        await engine.dispose()


def test_status_on_a_fresh_data_dir_needs_a_migration(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 2
    assert "pecora db upgrade" in capsys.readouterr().err


def test_listing_show_requeue_status(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    assert main(["db", "upgrade"]) == 0
    item_id = asyncio.run(_seed(data_dir))
    rows = _json(capsys, "inbox", "list", "--json", "--state", "quarantined")
    assert [(r["id"], r["state"], r["reason"]) for r in rows] == [
        (item_id, "quarantined", "no route")
    ]  # type: ignore[index,union-attr]
    shown = _json(capsys, "inbox", "show", str(item_id), "--json")
    assert shown["sha256"] == "a" * 64  # type: ignore[index]
    status = _json(capsys, "status", "--json")
    assert status["mode"] == "sandbox"  # type: ignore[index]
    assert status["inbox"]["quarantined"] == 1  # type: ignore[index]
    assert status["last_errors"][0]["reason"] == "no route"  # type: ignore[index]
    assert main(["inbox", "requeue", str(item_id)]) == 0
    assert main(["inbox", "requeue", str(item_id)]) == 1  # already queued
    assert _json(capsys, "outbox", "list", "--json") == []
    assert main(["inbox", "show", "999"]) == 1
    assert main(["inbox", "list"]) == 0  # the rich table renders
    assert "inbox" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "SANDBOX MODE" in capsys.readouterr().out
