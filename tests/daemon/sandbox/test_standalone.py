"""`pecora sandbox` as its own process, delivering by IMAP APPEND into Dovecot, with pecora in
real mode watching that mailbox and submitting to the sandbox's SMTP port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from store import outbox
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, OutboxItem, OutboxState
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.dovecot import Dovecot, MailUser
from tests.support.net import free_port
from tests.support.ref import ref_bytes

ROOT = Path(__file__).resolve().parents[3]
USER = "fatture@pec.sandbox.test"


def _invoice_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = USER, "sdi01@pec.fatturapa.it", "fattura"
    msg["Message-ID"] = "<standalone-1@pecora.test>"
    msg.add_attachment(
        ref_bytes("invoices", "IT01234567890_FPR02.xml"),
        maintype="application",
        subtype="octet-stream",
        filename="IT01234567890_FPR02.xml",
    )
    return msg.as_bytes()


async def test_standalone_sandbox_with_dovecot(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_port, state = free_port(), tmp_path / "sandbox"
    env = {
        **os.environ,
        "PECORA_SANDBOX_PASSWORD": "sandbox-user-pw",
        "PECORA_SANDBOX_IMAP_PASSWORD": mail_user.password,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon",
            "sandbox",
            "--state-dir",
            str(state),
            "--smtp-port",
            str(smtp_port),
            "--clock-factor",
            "60",
            "--imap",
            f"127.0.0.1:{dovecot.imap_port}:{mail_user.name}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    monkeypatch.setenv("PECORA_T_SANDBOX_PW", "sandbox-user-pw")
    monkeypatch.setenv("PECORA_T_IMAP_PW", mail_user.password)
    settings = daemon_settings(
        tmp_path,
        channels={
            "pec": {
                "kind": "pec",
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "plain",
                "username": USER,
                "sender": USER,
                "password": {"env": "PECORA_T_SANDBOX_PW"},
            }
        },
        mailboxes={
            "pec": {
                "host": "127.0.0.1",
                "port": dovecot.imap_port,
                "security": "plain",
                "username": mail_user.name,
                "password": {"env": "PECORA_T_IMAP_PW"},
                "poll_seconds": 1,
            }
        },
    )
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    try:
        for _ in range(300):
            if (state / "ready").exists():
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            await asyncio.sleep(0.05)
        async with running(settings):
            async with sessions() as s, s.begin():
                sent_id = await outbox.enqueue(
                    s,
                    outbox.NewOutgoing(
                        channel="pec",
                        payload=_invoice_mail(),
                        recipients=("sdi01@pec.fatturapa.it",),
                        idempotency_key="inv:standalone",
                        sender=USER,
                        message_id="<standalone-1@pecora.test>",
                    ),
                    now=utcnow(),
                )

            async def three_final() -> list[InboxItem] | None:
                async with sessions() as s:
                    items = list((await s.execute(select(InboxItem))).scalars())
                final = [i for i in items if i.state in (InboxState.DONE, InboxState.QUARANTINED)]
                return items if len(final) == 3 else None

            items = await wait_for(three_final, timeout=60)
            async with sessions() as s:
                sent = await s.get(OutboxItem, sent_id)
    finally:
        await engine.dispose()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    assert sent is not None
    assert sent.state is OutboxState.SENT
    assert all(i.source == "imap" for i in items)
    assert sorted(i.route or "" for i in items) == [
        "pec-receipt",
        "pec-receipt",
        "sdi-notification",
    ]
    memory = json.loads((state / "sdi-state.json").read_text())
    names = (
        [f["name"] for f in memory["files"].values()] if isinstance(memory["files"], dict) else []
    )
    assert names == ["IT01234567890_FPR02.xml"]  # SdI received the file exactly once
