"""A member whose message cannot be built on any of the campaign's channels is never dropped
silently: the row exists, failed, with the reason (and the dry run reports it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.memory import MemoryChannel
from store.archive import FilesystemArchive
from store.campaign_reports import counts
from store.models_messaging import CampaignDelivery
from tests.daemon.messaging.helpers import member_row, new_campaign, runners, seed, settle

ALIASES = {"pec": "pec-main", "email": "mail-main"}


async def test_no_sender_address_fails_each_row_with_the_reason(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(n) for n in range(3)])
    mail = MemoryChannel("mail-main")
    camp, out = runners(sessions, archive, {"mail-main": mail}, ALIASES)
    cid = await new_campaign(sessions, ["email"], sender=None)
    await settle(camp, out)
    async with sessions() as s:
        assert await counts(s, cid) == {"email": {"failed": 3}}
        rows = (await s.scalars(select(CampaignDelivery).where(
            CampaignDelivery.campaign_id == cid))).all()
    assert all("no sender address" in (r.detail or "") for r in rows)
    assert mail.sent == []


async def test_an_unbuildable_channel_falls_back_to_the_next(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    """PEC cannot be built without a sender; e-mail can't either: both reasons are kept."""
    await seed(sessions, [member_row(0)])
    pec, mail = MemoryChannel("pec-main"), MemoryChannel("mail-main")
    camp, out = runners(sessions, archive, {"pec-main": pec, "mail-main": mail}, ALIASES)
    cid = await new_campaign(sessions, ["pec", "email"], sender=None)
    await settle(camp, out)
    async with sessions() as s:
        row = await s.scalar(select(CampaignDelivery).where(CampaignDelivery.campaign_id == cid))
    assert row is not None and row.state.value == "failed"
    assert "pec:" in (row.detail or "") and "email:" in (row.detail or "")
