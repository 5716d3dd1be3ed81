"""Tables of passive invoicing (issue 6): supplier invoices SdI delivered to us, and our answers.

* `ReceivedFile` — one invoice file as SdI delivered it (unique by IdentificativoSdI and by the
  SHA-256 of its bytes as received); `ReceivedDelivery` logs every envelope that brought it, so
  the same invoice delivered twice is one file with two deliveries (peers-sdi.md: duplicates by
  file name are the classic intake bug).
* `ReceivedInvoice` — one body of the file (a lot has several, domain.md §1.2), unique by seller
  VAT id + year + number + type (SdI's own 00404 key), with its lines, parties as written,
  VAT summaries, payment terms, attachments, the decision workflow and the EC deadline.
* `PassiveDecision` (audit: who, when, why), `PassiveEsito` (each EC we sent and SdI's SE on it),
  `PassiveSdiMessage` (SE/DT and anything else SdI says about a received file),
  `PassiveReminder` (one row per reminder sent, so a restart never repeats one).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime, _enum

AMOUNT = Numeric(18, 8)


class ReviewState(enum.StrEnum):
    """Where a received invoice is in the decision workflow."""

    TO_REVIEW = "to-review"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class EsitoState(enum.StrEnum):
    """Life of an EC we sent: queued in the outbox, then possibly refused by SdI (SE)."""

    QUEUED = "queued"
    REJECTED = "rejected"  # SdI answered SE (EN00 not conformant / EN01 not admissible)


class ReceivedFile(Base):
    """One invoice file received from SdI (``.xml`` or ``.xml.p7m``), archived byte-identical."""

    __tablename__ = "passive_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identificativo_sdi: Mapped[str | None] = mapped_column(String(36), unique=True)
    file_name: Mapped[str] = mapped_column(String(100), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mt_file_name: Mapped[str | None] = mapped_column(String(100))
    mt_sha256: Mapped[str | None] = mapped_column(String(64))
    hash_check: Mapped[str] = mapped_column(String(24))  # ok | mismatch | absent (no MT Hash)
    signature: Mapped[str] = mapped_column(String(24))  # valid | untrusted | tampered | unsigned
    signature_detail: Mapped[str | None] = mapped_column(Text)
    signer: Mapped[str | None] = mapped_column(String(400))
    formato: Mapped[str | None] = mapped_column(String(8))  # FPA12 / FPR12
    codice_destinatario: Mapped[str | None] = mapped_column(String(7))
    ec_required: Mapped[bool] = mapped_column(Boolean)  # PA office configured for EC
    sdi_address: Mapped[str | None] = mapped_column(String(320))  # sdiNN that delivered it
    our_address: Mapped[str | None] = mapped_column(String(320))  # the PEC box it reached
    delivered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())  # EC window end
    dt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # SdI's DT: no EC any more
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReceivedDelivery(Base):
    """One envelope that delivered a file: every delivery is kept, duplicates included."""

    __tablename__ = "passive_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("passive_file.id"), index=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_item.id"), index=True)
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    pec_identificativo: Mapped[str | None] = mapped_column(String(400))
    identificativo_sdi: Mapped[str | None] = mapped_column(String(36))
    file_name: Mapped[str] = mapped_column(String(100))
    file_sha256: Mapped[str] = mapped_column(String(64))
    duplicate: Mapped[str | None] = mapped_column(Text)  # why it is a duplicate, if it is
    delivered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReceivedInvoice(Base):
    """One invoice (FatturaElettronicaBody) of a received file."""

    __tablename__ = "passive_invoice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("passive_file.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based body index (PosizioneFattura)
    seller_country: Mapped[str] = mapped_column(String(2))
    seller_code: Mapped[str] = mapped_column(String(28))
    seller_name: Mapped[str] = mapped_column(String(200), index=True)
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    tipo_documento: Mapped[str] = mapped_column(String(4))
    numero: Mapped[str] = mapped_column(String(20))
    data: Mapped[date] = mapped_column(Date)
    anno: Mapped[int] = mapped_column(Integer)
    divisa: Mapped[str] = mapped_column(String(3))
    importo_totale: Mapped[Decimal | None] = mapped_column(AMOUNT)
    imponibile: Mapped[Decimal] = mapped_column(AMOUNT)
    imposta: Mapped[Decimal] = mapped_column(AMOUNT)
    causale: Mapped[str | None] = mapped_column(Text)
    state: Mapped[ReviewState] = mapped_column(_enum(ReviewState), default=ReviewState.TO_REVIEW)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        # SdI's duplicate key (00404): seller id, year of Data, Numero (and the type).
        UniqueConstraint(
            "seller_country", "seller_code", "anno", "numero", "tipo_documento",
            name="uq_passive_invoice_identity",
        ),
        Index("ix_passive_invoice_state", "state", "id"),
    )


class InvoiceLine(Base):
    """One DettaglioLinee."""

    __tablename__ = "passive_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    numero_linea: Mapped[int] = mapped_column(Integer)
    descrizione: Mapped[str] = mapped_column(Text)
    quantita: Mapped[Decimal | None] = mapped_column(AMOUNT)
    unita_misura: Mapped[str | None] = mapped_column(String(10))
    prezzo_unitario: Mapped[Decimal] = mapped_column(AMOUNT)
    prezzo_totale: Mapped[Decimal] = mapped_column(AMOUNT)
    aliquota_iva: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    natura: Mapped[str | None] = mapped_column(String(5))


class InvoiceParty(Base):
    """A party exactly as the invoice writes it (seller, buyer, tax representative, issuer)."""

    __tablename__ = "passive_party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    id_paese: Mapped[str | None] = mapped_column(String(2))
    id_codice: Mapped[str | None] = mapped_column(String(28))
    codice_fiscale: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(320))


class InvoiceSummary(Base):
    """One DatiRiepilogo (VAT summary per rate/nature)."""

    __tablename__ = "passive_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    aliquota_iva: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    natura: Mapped[str | None] = mapped_column(String(5))
    imponibile: Mapped[Decimal] = mapped_column(AMOUNT)
    imposta: Mapped[Decimal] = mapped_column(AMOUNT)
    esigibilita_iva: Mapped[str | None] = mapped_column(String(1))


class InvoicePayment(Base):
    """One DettaglioPagamento with its terms (CondizioniPagamento) and due date."""

    __tablename__ = "passive_payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    condizioni: Mapped[str] = mapped_column(String(4))
    modalita: Mapped[str] = mapped_column(String(4))
    scadenza: Mapped[date | None] = mapped_column(Date, index=True)
    importo: Mapped[Decimal] = mapped_column(AMOUNT)
    iban: Mapped[str | None] = mapped_column(String(34))
    beneficiario: Mapped[str | None] = mapped_column(String(200))


class InvoiceAttachment(Base):
    """One Allegati, stored in the archive under its SHA-256, listed with a safe name."""

    __tablename__ = "passive_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    safe_name: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    formato: Mapped[str | None] = mapped_column(String(10))
    descrizione: Mapped[str | None] = mapped_column(String(200))


class PassiveDecision(Base):
    """Audit record of one decision: accepted or refused, by whom, when, why."""

    __tablename__ = "passive_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    decision: Mapped[ReviewState] = mapped_column(_enum(ReviewState))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. why no EC was sent
    reply_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class PassiveEsito(Base):
    """One EC (EsitoCommittente) we sent to SdI for a decision, and SdI's SE on it if any."""

    __tablename__ = "passive_esito"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("passive_decision.id"))
    file_name: Mapped[str] = mapped_column(String(100))
    esito: Mapped[str] = mapped_column(String(4))  # EC01 / EC02
    message_id_committente: Mapped[str] = mapped_column(String(14), unique=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_item.id"))
    state: Mapped[EsitoState] = mapped_column(_enum(EsitoState), default=EsitoState.QUEUED)
    scarto: Mapped[str | None] = mapped_column(String(4))  # EN00 / EN01
    scarto_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PassiveSdiMessage(Base):
    """An SdI message about a received file (SE, DT, ...), as recorded from the inbox."""

    __tablename__ = "passive_sdi_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("passive_file.id"), index=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_item.id"))
    type: Mapped[str] = mapped_column(String(2))
    file_name: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PassiveReminder(Base):
    """A deadline reminder sent for an invoice (``kind`` names the threshold, e.g. ``3d``)."""

    __tablename__ = "passive_reminder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("passive_invoice.id"))
    kind: Mapped[str] = mapped_column(String(16))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("invoice_id", "kind", name="uq_passive_reminder"),)
