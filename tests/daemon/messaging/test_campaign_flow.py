"""Campaign fan-out and follow-up over the real runners (both backends): per-recipient rows,
opt-out, fallback, breaker, pause/resume/cancel, PEC receipts moving states forward."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.memory import MemoryChannel
from channels.scripted import ScriptedChannel
from store import campaigns
from store.archive import FilesystemArchive
from store.campaign_reports import counts, deliveries
from store.clock import utcnow
from store.models import InboxItem, OutboxItem, PecReceipt
from store.models_messaging import Campaign, CampaignDelivery, CampaignState
from tests.daemon.messaging.helpers import member_row, new_campaign, runners, seed, settle

ALIASES = {"pec": "pec-main", "email": "mail-main"}


async def _deliveries(
    sessions: async_sessionmaker[AsyncSession], cid: int
) -> list[CampaignDelivery]:
    async with sessions() as s:
        return await deliveries(s, cid)


async def test_fan_out_with_opt_out_and_segment(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    rows = [member_row(n) for n in range(20)]
    rows[3]["opt_out"] = "pec;email"
    rows[4]["opt_out"] = "pec"
    rows[5]["tags"] = "sospesi"
    rows[6]["pec"] = ""
    await seed(sessions, rows)
    pec, mail = MemoryChannel("pec-main"), MemoryChannel("mail-main")
    camp, out = runners(sessions, archive, {"pec-main": pec, "mail-main": mail}, ALIASES)
    cid = await new_campaign(sessions, ["pec", "email"], segment={"tags_all": ["iscritti"]})
    await settle(camp, out)
    async with sessions() as s:
        assert await counts(s, cid) == {
            "pec": {"submitted": 16, "suppressed": 1},
            "email": {"accepted": 2},
        }
        c = await s.get(Campaign, cid)
        assert c is not None and c.state is CampaignState.DONE
    ds = {d.member_pk: d for d in await _deliveries(sessions, cid)}
    by_member = {d.address: d for d in ds.values()}
    assert len(ds) == 19  # member 5 is not in the segment
    assert by_member["socio4@mail.test"].channel == "email"  # opted out of PEC only
    assert by_member["socio6@mail.test"].channel == "email"  # no PEC address
    suppressed = [d for d in ds.values() if d.state.value == "suppressed"]
    assert len(suppressed) == 1 and "opted out" in (suppressed[0].detail or "")
    assert len(pec.sent) == 16 and len(mail.sent) == 2
    msg = pec.sent[0].payload
    assert b"Gentile Dott. Socio" in msg and b"Subject: Quota 2025" in msg
    # a second pass adds nothing: every row exists once
    async with sessions() as s, s.begin():
        await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow())
        await campaigns.set_cursor(s, cid, 0, done=False, now=utcnow())
    await settle(camp, out)
    assert len(await _deliveries(sessions, cid)) == 19
    assert len(pec.sent) == 16


async def test_fallback_after_permanent_failure_and_pec_receipts(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(n) for n in range(3)])
    pec = ScriptedChannel("pec-main", ["failed", "sent", "sent"])
    mail = MemoryChannel("mail-main")
    camp, out = runners(sessions, archive, {"pec-main": pec, "mail-main": mail}, ALIASES)
    cid = await new_campaign(sessions, ["pec", "email"])
    await settle(camp, out)
    ds = await _deliveries(sessions, cid)
    states = sorted((d.channel, d.state.value) for d in ds)
    assert states == [
        ("email", "accepted"),
        ("pec", "failed"),
        ("pec", "submitted"),
        ("pec", "submitted"),
    ]
    # receipts arrive out of order: consegna before accettazione, and one twice
    submitted = [d for d in ds if d.state.value == "submitted"]
    async with sessions() as s, s.begin():
        for n, (d, rtype) in enumerate(
            [
                (submitted[0], "avvenuta-consegna"),
                (submitted[0], "accettazione"),
                (submitted[1], "accettazione"),
                (submitted[1], "errore-consegna"),
            ]
        ):
            item = (
                await s.execute(
                    select(OutboxItem).where(OutboxItem.idempotency_key == d.idempotency_key)
                )
            ).scalar_one()
            inbox = InboxItem(
                dedupe_key=f"r{n}",
                source="lmtp",
                sha256="0" * 64,
                size=1,
                recipients=[],
                received_at=utcnow(),
                updated_at=utcnow(),
            )
            s.add(inbox)
            await s.flush()
            s.add(
                PecReceipt(
                    inbox_id=inbox.id,
                    outbox_id=item.id,
                    receipt_type=rtype,
                    ref_message_id=item.message_id,
                    recipient=d.address,
                    received_at=utcnow(),
                )
            )
    await settle(camp, out)
    ds = {(d.member_pk, d.channel): d for d in await _deliveries(sessions, cid)}
    first, second = submitted[0], submitted[1]
    assert ds[(first.member_pk, "pec")].state.value == "delivered"
    assert ds[(second.member_pk, "pec")].state.value == "failed"
    # errore-consegna sends the member down the preference: e-mail
    assert ds[(second.member_pk, "email")].state.value == "accepted"
    assert len(mail.sent) == 2


async def test_breaker_pauses_and_alerts_then_resume_and_cancel(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(n) for n in range(30)])
    pec = ScriptedChannel("pec-main", ["retry"] * 6)
    ops = MemoryChannel("ops")
    from daemon.config_campaigns import CampaignSettings

    settings = CampaignSettings(
        page_size=10, alert_channel="ops", alert_sender="pecora@ops.test", alert_to=["op@ops.test"]
    )
    camp, out = runners(
        sessions, archive, {"pec-main": pec, "ops": ops}, ALIASES, settings=settings
    )
    cid = await new_campaign(sessions, ["pec"], error_threshold=5)
    await camp.step()
    await out.run_once()  # 6 retries in one batch of 10
    await camp.step()
    async with sessions() as s:
        c = await s.get(Campaign, cid)
        assert c is not None and c.state is CampaignState.PAUSED
        assert "6 consecutive errors" in (c.paused_reason or "")
    await out.run_once()  # the alert goes out, nothing of the paused campaign does
    assert len(ops.sent) == 1 and b"paused" in ops.sent[0].payload
    assert await out.run_once() == 0  # paused: its 6 retries wait
    async with sessions() as s, s.begin():
        assert await campaigns.set_state(s, cid, CampaignState.RUNNING, now=utcnow()) == 6
    await camp.step()  # the second page of 10 is queued ...
    async with sessions() as s, s.begin():  # ... and cancelled before the outbox sends it
        cancelled = await campaigns.set_state(s, cid, CampaignState.CANCELLED, now=utcnow())
    assert cancelled == 16
    await settle(camp, out)
    async with sessions() as s:
        got = await counts(s, cid)
    assert got == {"pec": {"submitted": 4, "cancelled": 16}}  # the third page never fanned out
    assert len(pec.sent) == 4


def test_store_and_handler_state_names_agree() -> None:
    from handlers.messaging import states
    from store.models_messaging import DeliveryState

    assert {s.value for s in DeliveryState} == set(states.STATES)
