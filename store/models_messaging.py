"""Tables of mass messaging (issue 8): the Albo, campaigns, per-recipient deliveries, events.

A delivery row is one (campaign, member, channel); its ``idempotency_key`` is also the key of
the outbox item that carries its payload, so the two are joined on it and a restarted fan-out
can never enqueue a second copy. Delivery events keep every provider report (raw payload too)
with a unique dedupe key, because reports are at-least-once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime, _enum


class CampaignState(enum.StrEnum):
    """Life of a campaign."""

    DRAFT = "draft"  # created, previewable, nothing fanned out
    RUNNING = "running"
    PAUSED = "paused"  # by the operator or by the error breaker
    CANCELLED = "cancelled"
    DONE = "done"  # every recipient fanned out and nothing left to send


class DeliveryState(enum.StrEnum):
    """Life of one recipient's message (same values as handlers/messaging/states.py)."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED_TEMPORARY = "failed-temporary"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


class AlboMember(Base):
    """One member of the register, with an address per channel and their choices."""

    __tablename__ = "albo_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(64), unique=True)  # the Albo's own id
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    pec: Mapped[str | None] = mapped_column(String(320))
    mobile: Mapped[str | None] = mapped_column(String(32))
    fax: Mapped[str | None] = mapped_column(String(32))
    postal: Mapped[dict[str, str] | None] = mapped_column(JSON)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # template fields
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    opted_out: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Campaign(Base):
    """A communication to a segment of the Albo, over one channel or a fallback preference."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON)  # ordered preference
    segment: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    sender: Mapped[str | None] = mapped_column(String(320))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[CampaignState] = mapped_column(_enum(CampaignState))
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # last albo_member.id fanned out
    fanned_out: Mapped[bool] = mapped_column(default=False)
    error_threshold: Mapped[int] = mapped_column(Integer, default=50)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    deliver_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CampaignDelivery(Base):
    """One (campaign, member, channel): its state, and the outbox item of the same key."""

    __tablename__ = "campaign_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    member_pk: Mapped[int] = mapped_column(ForeignKey("albo_member.id"), index=True)
    channel: Mapped[str] = mapped_column(String(24))  # pec, email, sms, fax, registered-mail
    alias: Mapped[str | None] = mapped_column(String(64))  # the outbox channel alias
    address: Mapped[str | None] = mapped_column(String(400))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState))
    provider_ref: Mapped[str | None] = mapped_column(String(400), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("campaign_id", "member_pk", "channel", name="uq_delivery_recipient"),
        Index("ix_delivery_campaign_state", "campaign_id", "state"),
    )


class DeliveryEvent(Base):
    """One report about a delivery (outbox outcome, PEC receipt, webhook, poll), kept raw."""

    __tablename__ = "delivery_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("campaign_delivery.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # outbox | pec | webhook | poll
    status: Mapped[str] = mapped_column(String(24))  # a DeliveryState value
    pec_receipt_id: Mapped[int | None] = mapped_column(ForeignKey("pec_receipt.id"), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied: Mapped[bool] = mapped_column(default=False)  # moved the state forward
    payload: Mapped[str | None] = mapped_column(Text)
