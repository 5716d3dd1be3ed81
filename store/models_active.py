"""Tables of active invoicing (issue 5): invoices, their lines, transmissions, events, alerts.

An *invoice* is the fiscal document (number and date, fixed when it is created). Each file sent
to SdI for it is a *transmission* (a new file name every time: SdI refuses a name it has seen,
00002, domain.md §2); after an NS the invoice is resent in a new transmission with the same
number and date (§1.5). SdI notifications and PEC receipts are correlated to a transmission and
kept as *events* (with the archived file), which also hold the state history. Amounts are kept
as exact decimal text (SQLite has no decimal type). State values mirror
``handlers/active/states.py`` (the store may not import handlers).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime, _enum


class InvoiceState(enum.StrEnum):
    """domain.md §3.4 (same values as handlers/active/states.py `State`)."""

    DRAFT = "draft"
    QUEUED = "queued"
    PEC_SUBMITTED = "pec-submitted"
    PEC_ACCEPTED = "pec-accepted"
    PEC_REFUSED = "pec-refused"
    PEC_DELIVERED = "pec-delivered"
    PEC_DELAYED = "pec-delayed"
    PEC_DELIVERY_FAILED = "pec-delivery-failed"
    SDI_REJECTED = "sdi-rejected"
    DELIVERED = "delivered"
    AWAITING_OUTCOME = "awaiting-outcome"
    NOT_DELIVERED_AVAILABLE = "not-delivered-available"
    DELIVERY_PENDING = "delivery-pending"
    ATTESTED = "attested"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    TERMS_EXPIRED = "terms-expired"


class Invoice(Base):
    """One invoice or credit note we issue."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    register: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    numero: Mapped[str] = mapped_column(String(20))  # as written in the XML (Numero)
    tipo_documento: Mapped[str] = mapped_column(String(4))
    data: Mapped[date] = mapped_column(Date)
    formato: Mapped[str] = mapped_column(String(5))  # FPA12 / FPR12
    pa: Mapped[bool] = mapped_column(Boolean)
    divisa: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(24))  # ImportoTotaleDocumento, exact text
    description: Mapped[dict[str, Any]] = mapped_column(JSON)  # the draft, to rebuild the XML
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    state: Mapped[InvoiceState] = mapped_column(_enum(InvoiceState), index=True)
    state_at: Mapped[datetime] = mapped_column(UtcDateTime())
    transmission_id: Mapped[int | None] = mapped_column(Integer)  # the current file
    auto_send: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("seller_id", "register", "year", "number", name="uq_invoice_number"),
    )


class InvoiceLine(Base):
    """One DettaglioLinee of an invoice, for listings and reports."""

    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    numero_linea: Mapped[int] = mapped_column(Integer)
    descrizione: Mapped[str] = mapped_column(Text)
    quantita: Mapped[str | None] = mapped_column(String(24))
    unita_misura: Mapped[str | None] = mapped_column(String(10))
    prezzo_unitario: Mapped[str] = mapped_column(String(24))
    prezzo_totale: Mapped[str] = mapped_column(String(24))
    aliquota_iva: Mapped[str] = mapped_column(String(8))
    natura: Mapped[str | None] = mapped_column(String(5))


class InvoiceTransmission(Base):
    """One file sent to SdI for an invoice, with what SdI and the PEC providers said of it."""

    __tablename__ = "invoice_transmission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(60), unique=True)
    signature: Mapped[str] = mapped_column(String(8))  # cades | xades | none
    sha256: Mapped[str] = mapped_column(String(64))  # of the file as sent (= SdI's Hash)
    size: Mapped[int] = mapped_column(Integer)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id"), unique=True)
    message_id: Mapped[str] = mapped_column(String(400), unique=True)
    sdi_address: Mapped[str] = mapped_column(String(64))
    identificativo_sdi: Mapped[str | None] = mapped_column(String(36), index=True)
    state: Mapped[InvoiceState] = mapped_column(_enum(InvoiceState))
    state_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pec_accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # first NS/RC/MC
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # RC (PA: 15 days)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceEvent(Base):
    """Something that happened to an invoice (receipt, notification, operator, timer)."""

    __tablename__ = "invoice_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    transmission_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_transmission.id"))
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(8))  # pec | sdi | op | timer
    kind: Mapped[str] = mapped_column(String(40))  # accettazione, RC, NE-EC01, sent, ...
    detail: Mapped[str | None] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))  # set when the state moved
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_name: Mapped[str | None] = mapped_column(String(120))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_item.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. SdI errors of an NS
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SdiAddress(Base):
    """The sdiNN address SdI assigned to one of our PEC senders (domain.md §4.1)."""

    __tablename__ = "sdi_address"

    sender: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(120))  # the notification that taught it
    learned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceAlert(Base):
    """An alert raised for a transmission (once per kind: timers survive restarts)."""

    __tablename__ = "invoice_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transmission_id: Mapped[int] = mapped_column(ForeignKey("invoice_transmission.id"))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("transmission_id", "kind", name="uq_alert_kind"),)
