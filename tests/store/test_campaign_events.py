"""Bulk delivery events (`campaigns.record_events`) behave as `record_event` does, on both
backends: a repeated report changes nothing, states only move forward, detail and the
provider's id are kept."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messaging import states
from handlers.messaging.albo_rows import parse_row
from store import albo, campaigns
from store.clock import utcnow
from store.models_messaging import CampaignDelivery, DeliveryEvent, DeliveryState


async def _deliveries(sessions: async_sessionmaker[AsyncSession], n: int) -> list[int]:
    now = utcnow()
    async with sessions() as s, s.begin():
        for i in range(n):
            row = {"member_id": f"M{i}", "name": f"Socio {i}", "email": f"s{i}@mail.test"}
            await albo.upsert(s, parse_row(row), now=now)
        cid = await campaigns.create(
            s,
            campaigns.NewCampaign("c", "Avviso", "testo", ("email",), {}, sender="a@o.test"),
            now=now,
        )
        members = await albo.page(s, after=0, limit=n)
        await campaigns.add_deliveries(
            s,
            [
                campaigns.NewDelivery(
                    cid, m.id, "email", "mail", m.email, DeliveryState.QUEUED, "planned"
                )
                for m in members
            ],
            now=now,
        )
        return list((await s.execute(select(CampaignDelivery.id))).scalars())


def _report(
    delivery_id: int, state: DeliveryState, status: str, key: str, **kw: str | None
) -> campaigns.Report:
    return campaigns.Report(delivery_id, state, status, "outbox", key, utcnow(), **kw)


async def test_record_events_moves_once_and_only_forward(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b, c = await _deliveries(sessions, 3)
    q = DeliveryState.QUEUED
    async with sessions() as s, s.begin():
        news = await campaigns.record_events(
            s,
            [
                _report(a, q, states.ACCEPTED, "k1", provider_ref="<m1@o>"),
                _report(b, q, states.FAILED_TEMPORARY, "k2", detail="451 later"),
                _report(c, q, "notice", "k3", detail="evidence only"),
                _report(a, q, states.ACCEPTED, "k1"),  # the same report twice in one batch
            ],
            now=utcnow(),
            advance=states.advance,
        )
    assert news == [states.ACCEPTED, states.FAILED_TEMPORARY, None, None]
    async with sessions() as s, s.begin():
        again = await campaigns.record_events(
            s,
            [
                _report(a, DeliveryState.ACCEPTED, states.ACCEPTED, "k1"),  # seen before
                _report(b, DeliveryState.FAILED_TEMPORARY, states.ACCEPTED, "k4"),
                _report(a, DeliveryState.ACCEPTED, states.QUEUED, "k5"),  # backwards: kept
            ],
            now=utcnow(),
            advance=states.advance,
        )
    assert again == [None, states.ACCEPTED, None]
    async with sessions() as s:
        rows = {d.id: d for d in (await s.execute(select(CampaignDelivery))).scalars()}
        events = (await s.execute(select(func.count()).select_from(DeliveryEvent))).scalar_one()
    assert rows[a].state is DeliveryState.ACCEPTED and rows[a].provider_ref == "<m1@o>"
    assert rows[a].detail == "planned"  # no detail in the report: the old one stays
    assert rows[b].state is DeliveryState.ACCEPTED and rows[b].detail == "451 later"
    assert rows[c].state is DeliveryState.QUEUED and rows[c].detail == "planned"
    assert events == 5  # k1..k5 once each


async def test_a_provider_id_already_known_is_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    (a,) = await _deliveries(sessions, 1)
    async with sessions() as s, s.begin():
        await campaigns.record_events(
            s,
            [_report(a, DeliveryState.QUEUED, states.SUBMITTED, "k1", provider_ref="first")],
            now=utcnow(),
            advance=states.advance,
        )
        await campaigns.record_events(
            s,
            [_report(a, DeliveryState.SUBMITTED, states.DELIVERED, "k2", provider_ref="other")],
            now=utcnow(),
            advance=states.advance,
        )
    async with sessions() as s:
        row = (await s.execute(select(CampaignDelivery))).scalar_one()
    assert (row.state, row.provider_ref) == (DeliveryState.DELIVERED, "first")
