"""Typed SQLAlchemy 2 models for every table pecora owns.

State names are enums stored as strings (``native_enum=False``) so that SQLite and PostgreSQL hold
the same values and a new state needs no ALTER TYPE.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no zone: store UTC, re-attach it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every pecora table."""


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class InboxState(enum.StrEnum):
    """Life of an inbox item (architecture convention 6)."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    DONE = "done"
    QUARANTINED = "quarantined"  # held for an operator, with a reason
    SHUNTED = "shunted"  # processing raised: kept with its traceback, can be requeued
    BAD = "bad"  # crashed the processor max_claims times: poison, never retried alone


class OutboxState(enum.StrEnum):
    """Life of an outbox item."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class InboxItem(Base):
    """One raw message received by an ingress adapter, stored before it is acknowledged."""

    __tablename__ = "inbox_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Natural key that makes ingestion idempotent: source + mailbox + sha256 of the raw bytes.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # "lmtp", "smtp", "imap"
    mailbox: Mapped[str | None] = mapped_column(String(100))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[InboxState] = mapped_column(_enum(InboxState), default=InboxState.QUEUED)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    processed_by: Mapped[str | None] = mapped_column(String(100))
    route: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_inbox_state_id", "state", "id"),)


class OutboxItem(Base):
    """One final outbound payload: the bytes and Message-ID are fixed, so a retry is identical."""

    __tablename__ = "outbox_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))  # channel alias from the config
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(400), unique=True)
    sender: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    subject_ref: Mapped[str | None] = mapped_column(String(100))  # e.g. "invoice:42"
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState), default=OutboxState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deliver_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    provider_ref: Mapped[str | None] = mapped_column(String(400))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_outbox_state_due", "state", "next_attempt_at"),)


class DeliveryAttempt(Base):
    """One try at sending an outbox item, as the channel reported it."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_item.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # sent | retry | failed | unavailable
    detail: Mapped[str] = mapped_column(Text, default="")


class PecReceipt(Base):
    """A PEC provider receipt, correlated to the outbox item whose Message-ID it names."""

    __tablename__ = "pec_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id"), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id"), index=True)
    receipt_type: Mapped[str] = mapped_column(String(40))  # X-Ricevuta value, verbatim
    ref_message_id: Mapped[str | None] = mapped_column(String(400), index=True)
    recipient: Mapped[str | None] = mapped_column(String(320))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MailboxPosition(Base):
    """Where an IMAP watcher is in its mailbox: UIDVALIDITY and the last UID committed."""

    __tablename__ = "mailbox_position"

    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Lease(Base):
    """A named, time-limited lock held by one node (used so one daemon watches each mailbox)."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Counter(Base):
    """A named monotonic counter (SdI file progressives, invoice numbers): never reused."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)
