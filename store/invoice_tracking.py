"""Tracking use-cases: find the file a notification or receipt is about, record events, move
states, remember the sdiNN address, and remember which alerts were raised.

Correlation follows domain.md §3.4: ``NomeFile`` first, then ``IdentificativoSdI``, then
``PecMessageId`` (matched against our Message-ID); never the subject. The decision of *which*
state comes next is pure (``handlers/active/states.py``) and taken by the caller; the store only
writes what it was told, idempotently (events have a unique dedupe key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxItem
from store.models_active import (
    Invoice,
    InvoiceAlert,
    InvoiceEvent,
    InvoiceState,
    InvoiceTransmission,
    SdiAddress,
)
from store.sql import insert_ignore


async def add_event(
    session: AsyncSession,
    *,
    invoice_id: int,
    dedupe_key: str,
    source: str,
    kind: str,
    occurred_at: datetime,
    now: datetime,
    transmission_id: int | None = None,
    detail: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    archive_sha256: str | None = None,
    archive_name: str | None = None,
    inbox_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Insert an event unless one with ``dedupe_key`` exists; True when it was new."""
    return await insert_ignore(session, InvoiceEvent.__table__, {  # type: ignore[arg-type]
        "invoice_id": invoice_id, "transmission_id": transmission_id,
        "dedupe_key": dedupe_key[:300], "source": source, "kind": kind, "detail": detail,
        "from_state": from_state, "to_state": to_state, "archive_sha256": archive_sha256,
        "archive_name": archive_name, "inbox_id": inbox_id, "data": data,
        "occurred_at": occurred_at, "recorded_at": now,
    })


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


async def find_transmission(
    session: AsyncSession,
    *,
    file_names: Sequence[str] = (),
    identificativo_sdi: str | None = None,
    pec_message_id: str | None = None,
) -> InvoiceTransmission | None:
    """The transmission a notification is about (see the module docstring for the order)."""
    T = InvoiceTransmission
    if file_names:
        found = (await session.execute(
            select(T).where(T.file_name.in_(list(file_names))).limit(1))).scalar_one_or_none()
        if found is not None:
            return found
    if identificativo_sdi:
        found = (await session.execute(
            select(T).where(T.identificativo_sdi == identificativo_sdi).limit(1)
        )).scalar_one_or_none()
        if found is not None:
            return found
    if pec_message_id:
        bare = _bare(pec_message_id)
        return (await session.execute(
            select(T).where(T.message_id.in_([bare, f"<{bare}>"])).limit(1)
        )).scalar_one_or_none()
    return None


async def by_outbox(session: AsyncSession, outbox_id: int) -> InvoiceTransmission | None:
    """The transmission whose PEC message is outbox item ``outbox_id``."""
    return (await session.execute(
        select(InvoiceTransmission).where(InvoiceTransmission.outbox_id == outbox_id)
    )).scalar_one_or_none()


async def move(
    session: AsyncSession,
    tx: InvoiceTransmission,
    to: InvoiceState,
    *,
    at: datetime,
) -> Invoice:
    """Put ``tx`` in state ``to``; the invoice follows when ``tx`` is its current file (a late
    notification about a replaced file is history, not the invoice's state)."""
    tx.state, tx.state_at = to, at
    invoice = await session.get(Invoice, tx.invoice_id)
    assert invoice is not None
    if invoice.transmission_id == tx.id:
        invoice.state, invoice.state_at, invoice.updated_at = to, at, at
    await session.flush()
    return invoice


# --- the sdiNN address ---------------------------------------------------------------------


async def sdi_address(session: AsyncSession, sender: str) -> str | None:
    """The sdiNN address SdI assigned to our PEC ``sender`` (None: use sdi01)."""
    row = await session.get(SdiAddress, sender.lower())
    return row.address if row else None


async def learn_sdi_address(session: AsyncSession, sender: str, address: str, *,
                            source: str | None, now: datetime) -> bool:
    """Remember ``address`` for ``sender``; True when it is new or changed (§4.1)."""
    row = await session.get(SdiAddress, sender.lower())
    if row is None:
        session.add(SdiAddress(sender=sender.lower(), address=address, source=source,
                               learned_at=now))
        await session.flush()
        return True
    if row.address == address:
        return False
    row.previous, row.address, row.source, row.learned_at = row.address, address, source, now
    await session.flush()
    return True


# --- timers and alerts ---------------------------------------------------------------------

WATCHED_STATES = (
    InvoiceState.QUEUED, InvoiceState.PEC_SUBMITTED, InvoiceState.PEC_ACCEPTED,
    InvoiceState.PEC_DELIVERED, InvoiceState.PEC_DELAYED, InvoiceState.PEC_REFUSED,
    InvoiceState.PEC_DELIVERY_FAILED, InvoiceState.SDI_REJECTED, InvoiceState.AWAITING_OUTCOME,
    InvoiceState.REFUSED, InvoiceState.ATTESTED, InvoiceState.DELIVERY_PENDING,
)


async def watched(
    session: AsyncSession,
) -> list[tuple[InvoiceTransmission, Invoice, OutboxItem | None]]:
    """Current files in states a timer or an alert may concern, with their outbox row."""
    rows = (await session.execute(
        select(InvoiceTransmission, Invoice, OutboxItem)
        .join(Invoice, Invoice.transmission_id == InvoiceTransmission.id)
        .outerjoin(OutboxItem, OutboxItem.id == InvoiceTransmission.outbox_id)
        .where(InvoiceTransmission.state.in_(list(WATCHED_STATES)))
        .order_by(InvoiceTransmission.id)
    )).all()
    return [(tx, inv, item) for tx, inv, item in rows]


async def raised(session: AsyncSession, transmission_id: int) -> set[str]:
    """Kinds of alert already raised for the transmission."""
    return set((await session.execute(
        select(InvoiceAlert.kind).where(InvoiceAlert.transmission_id == transmission_id)
    )).scalars())


async def raise_alert(session: AsyncSession, transmission_id: int, kind: str, message: str, *,
                      now: datetime) -> bool:
    """Remember the alert; False when it had been raised already (never twice)."""
    return await insert_ignore(session, InvoiceAlert.__table__, {  # type: ignore[arg-type]
        "transmission_id": transmission_id, "kind": kind, "message": message, "raised_at": now,
    })


async def alerts(session: AsyncSession, transmission_ids: Sequence[int]) -> list[InvoiceAlert]:
    """Alerts raised for these transmissions, oldest first."""
    return list((await session.execute(
        select(InvoiceAlert).where(InvoiceAlert.transmission_id.in_(list(transmission_ids)))
        .order_by(InvoiceAlert.id))).scalars())
