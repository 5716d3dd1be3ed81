"""Campaign use-cases: create, fan out deliveries with their outbox items, follow outcomes.

Session first, never commit. Idempotency is structural: a delivery and its outbox item share
one key (``c<campaign>:m<member>:<channel>``) under unique constraints, inserted with ON
CONFLICT DO NOTHING, so a fan-out interrupted anywhere and run again adds nothing twice
(Mautic's duplicate sends, chatops doc B.2). State changes go through `record_event`, which
stores the report under a dedupe key and moves the row only forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Table, Text, bindparam, case, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxItem, OutboxState, PecReceipt
from store.models_messaging import (
    Campaign,
    CampaignDelivery,
    CampaignState,
    DeliveryEvent,
    DeliveryState,
)
from store.outbox import NewOutgoing
from store.sql import insert_ignore

# Paused items wait here: the outbox runner only claims what is due, and no row is edited
# but its due time (the outbox has no "held" state of its own).
PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
_OPEN = (DeliveryState.QUEUED, DeliveryState.FAILED_TEMPORARY)
_STATES = frozenset(s.value for s in DeliveryState)


def delivery_key(campaign_id: int, member_pk: int, channel: str) -> str:
    """The idempotency key shared by a delivery row and its outbox item."""
    return f"c{campaign_id}:m{member_pk}:{channel}"


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """What an operator gives to create a campaign."""

    name: str
    subject: str
    body: str
    channels: tuple[str, ...]
    segment: dict[str, list[str]]
    sender: str | None = None
    attachment_sha256: str | None = None
    attachment_name: str | None = None
    error_threshold: int = 50
    deliver_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One recipient on one channel; ``outgoing`` is None when nothing is sent (suppressed)."""

    campaign_id: int
    member_pk: int
    channel: str
    alias: str | None
    address: str | None
    state: DeliveryState
    detail: str | None = None
    outgoing: NewOutgoing | None = None


async def create(session: AsyncSession, new: NewCampaign, *, now: datetime) -> int:
    """Insert a draft campaign and return its id."""
    row = Campaign(
        name=new.name,
        subject=new.subject,
        body=new.body,
        channels=list(new.channels),
        segment=new.segment,
        sender=new.sender,
        attachment_sha256=new.attachment_sha256,
        attachment_name=new.attachment_name,
        state=CampaignState.DRAFT,
        cursor=0,
        fanned_out=False,
        error_threshold=new.error_threshold,
        consecutive_errors=0,
        deliver_until=new.deliver_until,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def get(session: AsyncSession, ref: int | str) -> Campaign | None:
    """Return a campaign by id or name."""
    if isinstance(ref, int) or ref.isdigit():
        return await session.get(Campaign, int(ref))
    return (
        await session.execute(select(Campaign).where(Campaign.name == ref))
    ).scalar_one_or_none()


async def listing(session: AsyncSession) -> list[Campaign]:
    """Return every campaign, newest first."""
    return list((await session.execute(select(Campaign).order_by(Campaign.id.desc()))).scalars())


async def running(session: AsyncSession) -> list[Campaign]:
    """Return the campaigns the fan-out runner works on."""
    query = select(Campaign).where(Campaign.state == CampaignState.RUNNING).order_by(Campaign.id)
    return list((await session.execute(query)).scalars())


def _insert(session: AsyncSession, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on ``table``, for the session's backend."""
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing()


def _insert_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> Any:
    return session.execute(_insert(session, table), rows)


# The UPDATEs of the bulk follow-up, each run once with all its rows (executemany). The
# values are those `record_event` gives an ORM delivery: detail only when a report has one,
# the provider's id only when the delivery has none yet.
_BY_ID = CampaignDelivery.id == bindparam("b_id")
_SYNC = (
    update(CampaignDelivery)
    .where(_BY_ID)
    .values(attempts=bindparam("b_attempts"), next_attempt_at=bindparam("b_next"))
)
_ADVANCE = (
    update(CampaignDelivery)
    .where(_BY_ID)
    .values(
        state=bindparam("b_state"),
        updated_at=bindparam("b_now"),
        detail=func.coalesce(bindparam("b_detail", type_=Text), CampaignDelivery.detail),
        provider_ref=case(
            (
                func.coalesce(CampaignDelivery.provider_ref, "") == "",
                func.coalesce(bindparam("b_ref", type_=String), CampaignDelivery.provider_ref),
            ),
            else_=CampaignDelivery.provider_ref,
        ),
    )
)


async def add_deliveries(
    session: AsyncSession, deliveries: Sequence[NewDelivery], *, now: datetime
) -> None:
    """Insert delivery rows and their outbox items; rows already there are left alone."""
    if not deliveries:
        return
    rows, items = [], []
    for d in deliveries:
        key = delivery_key(d.campaign_id, d.member_pk, d.channel)
        rows.append(
            {
                "campaign_id": d.campaign_id,
                "member_pk": d.member_pk,
                "channel": d.channel,
                "alias": d.alias,
                "address": d.address,
                "idempotency_key": key,
                "state": d.state,
                "attempts": 0,
                "detail": d.detail,
                "created_at": now,
                "updated_at": now,
            }
        )
        if d.outgoing is not None:
            o = d.outgoing
            assert o.idempotency_key == key, "the outbox item must share the delivery's key"
            items.append(
                {
                    "channel": o.channel,
                    "idempotency_key": key,
                    "message_id": o.message_id,
                    "sender": o.sender,
                    "recipients": list(o.recipients),
                    "payload": o.payload,
                    "subject_ref": o.subject_ref,
                    "state": OutboxState.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "deliver_until": o.deliver_until,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    await _insert_many(session, CampaignDelivery.__table__, rows)  # type: ignore[arg-type]
    if items:
        await _insert_many(session, OutboxItem.__table__, items)  # type: ignore[arg-type]


async def set_cursor(
    session: AsyncSession, campaign_id: int, cursor: int, *, done: bool, now: datetime
) -> None:
    """Record how far the fan-out got (it resumes after ``cursor`` after a crash)."""
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(cursor=cursor, fanned_out=done, updated_at=now)
    )


async def open_count(session: AsyncSession, campaign_id: int) -> int:
    """How many of the campaign's deliveries have not left us yet."""
    query = select(func.count()).where(
        (CampaignDelivery.campaign_id == campaign_id) & CampaignDelivery.state.in_(_OPEN)
    )
    return int((await session.execute(query)).scalar_one())


def _open_keys(campaign_id: int) -> Any:
    return select(CampaignDelivery.idempotency_key).where(
        (CampaignDelivery.campaign_id == campaign_id) & CampaignDelivery.state.in_(_OPEN)
    )


async def set_state(
    session: AsyncSession,
    campaign_id: int,
    state: CampaignState,
    *,
    now: datetime,
    reason: str | None = None,
) -> int:
    """Start, pause, resume or cancel; return how many queued outbox items it touched.

    Pause moves the campaign's queued outbox items out of reach; resume makes them due again;
    cancel fails them (only those still queued: an item being sent finishes) and marks their
    deliveries cancelled. Items in flight are never pulled back.
    """
    values: dict[str, Any] = {"state": state, "updated_at": now, "paused_reason": reason}
    if state is CampaignState.RUNNING:
        values["consecutive_errors"] = 0
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))
    waiting = (OutboxItem.idempotency_key.in_(_open_keys(campaign_id))) & OutboxItem.state.in_(
        [OutboxState.QUEUED, OutboxState.RETRY]
    )
    if state is CampaignState.PAUSED:
        result = await session.execute(
            update(OutboxItem).where(waiting).values(next_attempt_at=PAUSED_UNTIL, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
    if state is CampaignState.RUNNING:
        result = await session.execute(
            update(OutboxItem)
            .where(waiting & (OutboxItem.next_attempt_at == PAUSED_UNTIL))
            .values(next_attempt_at=now, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
    if state is CampaignState.CANCELLED:
        keys = list(
            (
                await session.execute(
                    update(OutboxItem)
                    .where(waiting)
                    .values(state=OutboxState.FAILED, last_error="cancelled", updated_at=now)
                    .returning(OutboxItem.idempotency_key)
                )
            ).scalars()
        )
        if keys:
            await session.execute(
                update(CampaignDelivery)
                .where(CampaignDelivery.idempotency_key.in_(keys))
                .values(state=DeliveryState.CANCELLED, detail="cancelled", updated_at=now)
            )
        return len(keys)
    return 0


def _event_row(delivery_id: int, dedupe_key: str, source: str, status: str,
               occurred_at: datetime, now: datetime, *, applied: bool, payload: str | None,
               pec_receipt_id: int | None = None) -> dict[str, Any]:
    """One `DeliveryEvent` row, as `record_event` and `record_events` insert it."""
    return {
        "delivery_id": delivery_id,
        "dedupe_key": dedupe_key,
        "source": source,
        "status": status,
        "pec_receipt_id": pec_receipt_id,
        "occurred_at": occurred_at,
        "received_at": now,
        "applied": applied,
        "payload": payload,
    }


async def record_event(
    session: AsyncSession,
    delivery: CampaignDelivery,
    status: str,
    *,
    source: str,
    dedupe_key: str,
    occurred_at: datetime,
    now: datetime,
    advance: Callable[[str, str], str | None],
    detail: str | None = None,
    provider_ref: str | None = None,
    payload: str | None = None,
    pec_receipt_id: int | None = None,
) -> str | None:
    """Store one report; move the delivery if ``advance`` allows. Return the new state or None.

    A report seen before (same dedupe key) changes nothing. ``advance`` is the pure state
    machine (handlers/messaging/states.py), passed in because store cannot import handlers.
    """
    new = advance(delivery.state.value, status) if status in _STATES else None
    fresh = await insert_ignore(
        session,
        DeliveryEvent.__table__,  # type: ignore[arg-type]
        _event_row(delivery.id, dedupe_key[:300], source, status, occurred_at, now,
                   applied=new is not None, payload=payload, pec_receipt_id=pec_receipt_id),
    )
    if not fresh or new is None:
        return None
    delivery.state = DeliveryState(new)
    delivery.updated_at = now
    if detail is not None:
        delivery.detail = detail
    if provider_ref and not delivery.provider_ref:
        delivery.provider_ref = provider_ref
    return new  # flushed with the caller's next query or commit: no round trip per row


@dataclass(frozen=True, slots=True)
class OutboxOutcome:
    """A delivery whose outbox item moved since the delivery last looked, with the item's
    facts (plain values: a mass mailing follows thousands, no ORM objects needed)."""

    delivery_id: int
    campaign_id: int
    channel: str
    state: DeliveryState  # the delivery's, before this outcome
    outbox_id: int
    outbox_state: OutboxState
    attempts: int
    next_attempt_at: datetime
    updated_at: datetime
    last_error: str | None
    provider_ref: str | None


async def outbox_outcomes(session: AsyncSession, *, limit: int = 1000) -> list[OutboxOutcome]:
    """Deliveries whose outbox item moved (sent, retried, failed) since they last looked."""
    d, o = CampaignDelivery, OutboxItem
    query = (
        select(
            d.id,
            d.campaign_id,
            d.channel,
            d.state,
            o.id,
            o.state,
            o.attempts,
            o.next_attempt_at,
            o.updated_at,
            o.last_error,
            o.provider_ref,
        )
        .join(o, o.idempotency_key == d.idempotency_key)
        .where(
            d.state.in_(_OPEN)
            & o.state.in_([OutboxState.SENT, OutboxState.RETRY, OutboxState.FAILED])
            & (o.attempts > d.attempts)
        )
        .order_by(o.updated_at, o.id)
        .limit(limit)
    )
    return [OutboxOutcome(*row) for row in (await session.execute(query)).all()]


async def sync_attempts(
    session: AsyncSession, rows: Sequence[tuple[int, int, datetime | None]]
) -> None:
    """Copy (delivery id, attempts, next attempt) from the outbox: the delivery has looked."""
    if rows:
        await (await session.connection()).execute(
            _SYNC, [{"b_id": i, "b_attempts": n, "b_next": at} for i, n, at in rows]
        )


@dataclass(frozen=True, slots=True)
class Report:
    """One report about a delivery for `record_events` (see `record_event`)."""

    delivery_id: int
    state: DeliveryState  # the delivery's current state
    status: str
    source: str
    dedupe_key: str
    occurred_at: datetime
    detail: str | None = None
    provider_ref: str | None = None
    payload: str | None = None


async def record_events(
    session: AsyncSession,
    reports: Sequence[Report],
    *,
    now: datetime,
    advance: Callable[[str, str], str | None],
) -> list[str | None]:
    """`record_event` for many reports at once: one INSERT of the events and one UPDATE of
    the deliveries they move, whatever their number. Return each report's new state or None.

    A report seen before (same dedupe key, in the store or earlier in ``reports``) changes
    nothing; each delivery should appear once (its state is the one given in its report).
    """
    news = [advance(r.state.value, r.status) if r.status in _STATES else None for r in reports]
    keys = [r.dedupe_key[:300] for r in reports]
    rows = [
        _event_row(r.delivery_id, key, r.source, r.status, r.occurred_at, now,
                   applied=new is not None, payload=r.payload)
        for r, key, new in zip(reports, keys, news, strict=True)
    ]
    if not rows:
        return []
    # RETURNING names the rows actually inserted: the others were seen before.
    stmt = _insert(session, DeliveryEvent.__table__).returning(  # type: ignore[arg-type]
        DeliveryEvent.dedupe_key
    )
    fresh = set((await session.execute(stmt, rows)).scalars())
    out: list[str | None] = []
    moves = []
    for r, key, new in zip(reports, keys, news, strict=True):
        if new is None or key not in fresh:
            out.append(None)
            continue
        fresh.discard(key)  # a second report of the same key in this batch is a repeat
        out.append(new)
        moves.append(
            {
                "b_id": r.delivery_id,
                "b_state": DeliveryState(new),
                "b_now": now,
                "b_detail": r.detail,
                "b_ref": r.provider_ref or None,
            }
        )
    if moves:
        await (await session.connection()).execute(_ADVANCE, moves)
    return out


async def unseen_pec_receipts(
    session: AsyncSession, *, limit: int = 500
) -> list[tuple[CampaignDelivery, PecReceipt]]:
    """PEC receipts about campaign deliveries that no delivery event records yet."""
    seen = exists().where(DeliveryEvent.pec_receipt_id == PecReceipt.id)
    query = (
        select(CampaignDelivery, PecReceipt)
        .join(OutboxItem, OutboxItem.id == PecReceipt.outbox_id)
        .join(CampaignDelivery, CampaignDelivery.idempotency_key == OutboxItem.idempotency_key)
        .where(~seen)
        .order_by(PecReceipt.id)
        .limit(limit)
    )
    return [(d, r) for d, r in (await session.execute(query)).all()]


async def note_outcomes(
    session: AsyncSession, campaign_id: int, outcomes: Sequence[bool], *, now: datetime
) -> Campaign | None:
    """Feed the error breaker (True = success); return the campaign if it just tripped."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or not outcomes:
        return None
    errors, worst = campaign.consecutive_errors, 0
    for ok in outcomes:  # in the order they happened: a run of errors trips even if cut short
        errors = 0 if ok else errors + 1
        worst = max(worst, errors)
    campaign.consecutive_errors = errors
    tripped = campaign.state is CampaignState.RUNNING and worst >= campaign.error_threshold
    await session.flush()
    if tripped:
        reason = f"paused by the error breaker: {worst} consecutive errors"
        await set_state(session, campaign_id, CampaignState.PAUSED, now=now, reason=reason)
        return campaign
    return None


async def deliveries_by_id(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> list[CampaignDelivery]:
    """The deliveries of ``delivery_ids``, in that order."""
    if not delivery_ids:
        return []
    rows = await session.execute(
        select(CampaignDelivery).where(CampaignDelivery.id.in_(list(delivery_ids)))
    )
    found = {d.id: d for d in rows.scalars()}
    return [found[i] for i in delivery_ids if i in found]


async def find_delivery(
    session: AsyncSession, *, key: str | None = None, alias: str | None = None, ref: str | None
) -> CampaignDelivery | None:
    """Find the delivery a provider report is about: by our key, else by the provider's id."""
    if key:
        row = (
            await session.execute(
                select(CampaignDelivery).where(CampaignDelivery.idempotency_key == key)
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
    if not ref:
        return None
    query = (
        select(CampaignDelivery)
        .join(OutboxItem, OutboxItem.idempotency_key == CampaignDelivery.idempotency_key)
        .where((OutboxItem.provider_ref == ref) | (CampaignDelivery.provider_ref == ref))
    )
    if alias:
        query = query.where(OutboxItem.channel == alias)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def to_poll(
    session: AsyncSession, aliases: Sequence[str], *, older_than: datetime, limit: int = 200
) -> list[tuple[CampaignDelivery, str]]:
    """Submitted or accepted deliveries on ``aliases`` quiet since ``older_than``, with the
    provider id to ask about (polling is the fallback when webhooks do not come)."""
    query = (
        select(CampaignDelivery, OutboxItem.provider_ref)
        .join(OutboxItem, OutboxItem.idempotency_key == CampaignDelivery.idempotency_key)
        .where(
            CampaignDelivery.alias.in_(list(aliases))
            & CampaignDelivery.state.in_([DeliveryState.SUBMITTED, DeliveryState.ACCEPTED])
            & (CampaignDelivery.updated_at < older_than)
            & OutboxItem.provider_ref.is_not(None)
        )
        .order_by(CampaignDelivery.updated_at)
        .limit(limit)
    )
    return [(d, str(ref)) for d, ref in (await session.execute(query)).all()]


async def touch(session: AsyncSession, delivery_ids: Sequence[int], *, now: datetime) -> None:
    """Mark deliveries as looked at (the poller moves on to others)."""
    if delivery_ids:
        await session.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.id.in_(list(delivery_ids)))
            .values(updated_at=now)
        )
