"""Campaign read models: counts per channel and state, and the per-recipient report rows.

Session first, read-only. The report pages by delivery id so a 100,000-row export never holds
the whole campaign in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InboxItem, PecReceipt
from store.models_messaging import AlboMember, CampaignDelivery, DeliveryEvent, DeliveryState


async def counts(session: AsyncSession, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per channel, how many deliveries are in each state."""
    rows = await session.execute(
        select(CampaignDelivery.channel, CampaignDelivery.state, func.count())
        .where(CampaignDelivery.campaign_id == campaign_id)
        .group_by(CampaignDelivery.channel, CampaignDelivery.state)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, state, n in rows.all():
        out[channel][DeliveryState(state).value] = int(n)
    return dict(out)


async def deliveries(
    session: AsyncSession, campaign_id: int, *, after: int = 0, limit: int = 1000
) -> list[CampaignDelivery]:
    """The campaign's delivery rows in id order (the per-recipient report pages on this)."""
    query = (
        select(CampaignDelivery)
        .where(and_(CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.id > after))
        .order_by(CampaignDelivery.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def events_of(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, list[DeliveryEvent]]:
    """Every recorded event of the given deliveries, oldest first."""
    if not delivery_ids:
        return {}
    rows = await session.execute(
        select(DeliveryEvent)
        .where(DeliveryEvent.delivery_id.in_(list(delivery_ids)))
        .order_by(DeliveryEvent.id)
    )
    out: dict[int, list[DeliveryEvent]] = defaultdict(list)
    for event in rows.scalars():
        out[event.delivery_id].append(event)
    return dict(out)


async def members_of(session: AsyncSession, member_pks: Sequence[int]) -> dict[int, AlboMember]:
    """Members by row id (for the report's member id and name columns)."""
    if not member_pks:
        return {}
    rows = await session.execute(select(AlboMember).where(AlboMember.id.in_(list(member_pks))))
    return {m.id: m for m in rows.scalars()}


async def receipt_evidence(
    session: AsyncSession, receipt_ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """For PEC receipts, their type and the sha256 of the archived receipt mail (the proof)."""
    if not receipt_ids:
        return {}
    rows = await session.execute(
        select(PecReceipt.id, PecReceipt.receipt_type, InboxItem.sha256)
        .join(InboxItem, InboxItem.id == PecReceipt.inbox_id)
        .where(PecReceipt.id.in_(list(receipt_ids)))
    )
    return {rid: (rtype, sha) for rid, rtype, sha in rows.all()}
