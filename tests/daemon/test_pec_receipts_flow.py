"""Real PEC receipts delivered over LMTP land on the outbox item whose Message-ID they name."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from store import outbox
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, PecReceipt
from tests.conftest import reset_database
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.lmtp import deliver
from tests.support.ref import ref_bytes

OUR_ID = (
    "<1542123565.921546936035156.464602125997431-openerp-8-"
    "fatturapa.attachment.out@elbati-Vostro-3550>"
)


async def test_receipts_correlate_by_message_id(tmp_path: Path, db_url: str) -> None:
    await reset_database(db_url)
    settings = daemon_settings(tmp_path, db_url)
    accettazione = ref_bytes("pec", "accettazione_IT03339130126_00009.eml")
    consegna = ref_bytes("pec", "avvenuta-consegna_IT03339130126_00009.eml")
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                sent_id = await outbox.enqueue(
                    s,
                    outbox.NewOutgoing(
                        channel="pec-main",  # not configured here: stays queued, as wanted
                        payload=b"Message-ID: " + OUR_ID.encode() + b"\r\n\r\ninvoice",
                        recipients=("sdi01@pec.fatturapa.it",),
                        idempotency_key="invoice:1:send",
                        message_id=OUR_ID,
                    ),
                    now=utcnow(),
                )
            for raw in (consegna, accettazione, accettazione):  # out of order, and a duplicate
                assert await asyncio.to_thread(deliver, settings.lmtp.port, raw, ["pec@org"]) == [
                    250
                ]

            async def done() -> list[InboxItem] | None:
                async with sessions() as s:
                    items = list((await s.execute(select(InboxItem))).scalars())
                return items if items and all(i.state is InboxState.DONE for i in items) else None

            items = await wait_for(done)
        async with sessions() as s:
            receipts = list((await s.execute(select(PecReceipt).order_by(PecReceipt.id))).scalars())
    finally:
        await engine.dispose()
    assert len(items) == 2  # the duplicate delivery is the same message: one item
    assert sorted(i.deliveries for i in items) == [1, 2]
    assert [r.receipt_type for r in receipts] == ["avvenuta-consegna", "accettazione"]
    assert all(r.outbox_id == sent_id for r in receipts)
    assert receipts[0].recipient == "l.battistini@pec.it"


async def test_sdi_notification_for_an_unknown_file_is_held_with_the_reason(
    tmp_path: Path,
) -> None:
    settings = daemon_settings(tmp_path)
    raw = ref_bytes("pec", "sdi_RC_ricevuta-di-consegna_6782414.eml")
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    try:
        async with running(settings):
            assert await asyncio.to_thread(deliver, settings.lmtp.port, raw, ["pec@org"]) == [250]

            async def held() -> InboxItem | None:
                async with sessions() as s:
                    item = (await s.execute(select(InboxItem))).scalar_one_or_none()
                return item if item and item.state is InboxState.QUARANTINED else None

            item = await wait_for(held)
    finally:
        await engine.dispose()
    assert item.route == "sdi-notification"
    assert item.reason is not None
    assert item.reason.startswith("unmatched: SdI RC IT03339130126_00009_RC_003.xml")
    assert "IT03339130126_00009.xml" in item.reason
