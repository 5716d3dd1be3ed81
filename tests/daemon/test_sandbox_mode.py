"""Sandbox mode end to end: pecora sends an invoice over its PEC channel to the in-process
sandbox; the provider's receipts and SdI's answer come back through pecora's own LMTP."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from store import outbox
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, OutboxItem, OutboxState, PecReceipt
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.net import free_port
from tests.support.ref import ref_bytes

USER = "fatture@pec.sandbox.test"


def _invoice_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = USER, "sdi01@pec.fatturapa.it", "IT01234567890_FPR01"
    msg["Message-ID"] = "<invoice-1@pecora.test>"
    msg.add_attachment(
        ref_bytes("invoices", "IT01234567890_FPR01.xml"),
        maintype="application",
        subtype="octet-stream",
        filename="IT01234567890_FPR01.xml",
    )
    return msg.as_bytes()


async def test_invoice_round_trip_through_the_embedded_sandbox(tmp_path: Path) -> None:
    settings = daemon_settings(
        tmp_path, sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": 60}
    )
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                sent_id = await outbox.enqueue(
                    s,
                    outbox.NewOutgoing(
                        channel="pec",
                        payload=_invoice_mail(),
                        recipients=("sdi01@pec.fatturapa.it",),
                        idempotency_key="invoice:1",
                        sender=USER,
                        message_id="<invoice-1@pecora.test>",
                    ),
                    now=utcnow(),
                )

            async def settled() -> list[InboxItem] | None:
                async with sessions() as s:
                    items = list((await s.execute(select(InboxItem))).scalars())
                final = [i for i in items if i.state in (InboxState.DONE, InboxState.QUARANTINED)]
                return items if len(final) >= 3 and len(final) == len(items) else None

            items = await wait_for(settled, timeout=30)
        async with sessions() as s:
            sent = await s.get(OutboxItem, sent_id)
            receipts = list((await s.execute(select(PecReceipt))).scalars())
    finally:
        await engine.dispose()
    assert sent is not None
    assert sent.state is OutboxState.SENT
    assert sorted(r.receipt_type for r in receipts) == ["accettazione", "avvenuta-consegna"]
    assert all(r.outbox_id == sent_id for r in receipts)
    routes = sorted(i.route or "" for i in items)
    assert routes == ["pec-receipt", "pec-receipt", "sdi-notification"]
    rc = next(i for i in items if i.route == "sdi-notification")
    # No active cycle records sent invoices yet: SdI's RC is held, named, not lost.
    assert rc.state is InboxState.QUARANTINED
    assert "SdI RC IT01234567890_FPR01_RC_001.xml" in (rc.reason or "")
