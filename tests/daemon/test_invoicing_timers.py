"""Timers and alerts: no provider acceptance, no SdI answer in 5 days, a PA silent 16 days after
the RC; each alert raised once (persisted), an e-mail queued for ops; automatic send."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config_invoicing import InvoicingSettings
from daemon.invoicing import SendContext, load_signer
from daemon.invoicing_jobs import auto_send, check_timers
from store import invoice_tracking as tracking
from store import invoices
from store.archive import FilesystemArchive
from store.clock import utcnow
from store.models import OutboxItem
from store.models_active import InvoiceState
from tests.support.invoicing import USER, create_and_send, customer, draft, seed_parties

CFG = InvoicingSettings(alerts={"email_to": ["ops@example.test"]})


async def test_timers_raise_each_alert_once(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    async with sessions() as s, s.begin():
        await seed_parties(s)
        key = await customer(s, "UFF001")
    invoice = await create_and_send(sessions, archive, CFG, key)
    start = utcnow()
    assert await check_timers(sessions, CFG, now=start) == []
    late = await check_timers(sessions, CFG, now=start + timedelta(hours=1))
    assert [a.kind for a in late] == ["no-pec-acceptance"]
    assert await check_timers(sessions, CFG, now=start + timedelta(hours=2)) == []
    silent = await check_timers(sessions, CFG, now=start + timedelta(days=6))
    assert [a.kind for a in silent] == ["no-sdi-answer"]
    # SdI delivered it to the PA (RC): the 16-day timer runs from the delivery.
    async with sessions() as s, s.begin():
        tx = (await invoices.transmissions(s, invoice.id))[0]
        tx.delivered_at = tx.answered_at = start + timedelta(days=6)
        await tracking.move(s, tx, InvoiceState.AWAITING_OUTCOME, at=start)
    assert await check_timers(sessions, CFG, now=start + timedelta(days=20)) == []
    pa = await check_timers(sessions, CFG, now=start + timedelta(days=23))
    assert [a.kind for a in pa] == ["no-pa-outcome"]
    async with sessions() as s:
        mails = list((await s.execute(
            select(OutboxItem).where(OutboxItem.channel == "email"))).scalars())
        history = [e.kind for e in await invoices.history(s, invoice.id)]
    assert len(mails) == 3
    assert history[-3:] == ["alert:no-pec-acceptance", "alert:no-sdi-answer",
                            "alert:no-pa-outcome"]


async def test_sent_outbox_row_moves_to_submitted_and_auto_send(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    async with sessions() as s, s.begin():
        await seed_parties(s)
        key = await customer(s, "ABC1234")
    from daemon.invoicing import create_invoice

    async with sessions() as s, s.begin():
        auto = await create_invoice(s, draft(key, auto_send=True), cfg=CFG, now=utcnow())
        manual = await create_invoice(s, draft(key), cfg=CFG, now=utcnow())
    ctx = SendContext(CFG, load_signer(CFG, sandbox=True), archive, USER)
    assert await auto_send(sessions, ctx) == 1
    async with sessions() as s, s.begin():
        first = await invoices.get(s, auto.id)
        second = await invoices.get(s, manual.id)
        assert first is not None and second is not None
        assert (first.state, second.state) == (InvoiceState.QUEUED, InvoiceState.DRAFT)
        tx = (await invoices.transmissions(s, auto.id))[0]
        item = await s.get(OutboxItem, tx.outbox_id)
        assert item is not None
        from store import outbox

        await outbox.mark_sent(s, item.id, provider_ref=None, detail="250", now=utcnow())
    await check_timers(sessions, CFG)
    async with sessions() as s:
        found = await invoices.get(s, auto.id)
    assert found is not None and found.state is InvoiceState.PEC_SUBMITTED
