"""Tables of the address book: our seller profile(s) and our customers (issue 5).

One row per party, referenced by invoices so nobody retypes a customer. A customer may point to
an Albo member (mass messaging, ``models_messaging.AlboMember``) instead of duplicating the
person's contact data there; the fiscal data an invoice needs (IdFiscaleIVA, CodiceFiscale,
Sede, CodiceDestinatario / PECDestinatario) always lives here.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime, _enum


class PartyRole(enum.StrEnum):
    """Which side of an invoice a party is on."""

    SELLER = "seller"  # one of our own profiles (CedentePrestatore)
    CUSTOMER = "customer"  # CessionarioCommittente


class PartyKind(enum.StrEnum):
    """How SdI reaches a customer (domain.md §1.2, §3.3)."""

    PA = "pa"  # 6-char codice Ufficio (IPA), FPA12, signature mandatory
    B2B = "b2b"  # 7-char codice destinatario, or 0000000 + PECDestinatario
    B2C = "b2c"  # a consumer: 0000000 without PEC (the invoice waits in their reserved area)
    FOREIGN = "foreign"  # XXXXXXX


class Party(Base):
    """One seller profile or customer."""

    __tablename__ = "party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the operator's handle
    role: Mapped[PartyRole] = mapped_column(_enum(PartyRole))
    kind: Mapped[PartyKind] = mapped_column(_enum(PartyKind))
    denominazione: Mapped[str | None] = mapped_column(String(80))
    nome: Mapped[str | None] = mapped_column(String(60))
    cognome: Mapped[str | None] = mapped_column(String(60))
    id_paese: Mapped[str | None] = mapped_column(String(2))
    id_codice: Mapped[str | None] = mapped_column(String(28))
    codice_fiscale: Mapped[str | None] = mapped_column(String(16))
    indirizzo: Mapped[str] = mapped_column(String(60))
    numero_civico: Mapped[str | None] = mapped_column(String(8))
    cap: Mapped[str] = mapped_column(String(5))
    comune: Mapped[str] = mapped_column(String(60))
    provincia: Mapped[str | None] = mapped_column(String(2))
    nazione: Mapped[str] = mapped_column(String(2))
    codice_destinatario: Mapped[str | None] = mapped_column(String(7))
    pec_destinatario: Mapped[str | None] = mapped_column(String(256))
    regime_fiscale: Mapped[str | None] = mapped_column(String(4))  # sellers: RF01...
    email: Mapped[str | None] = mapped_column(String(256))
    # The Albo's own member id (``albo_member.member_id``): a soft link, checked by
    # `store.parties.link_albo`, so the Albo's migration line and ours stay independent.
    albo_member_id: Mapped[str | None] = mapped_column(String(64), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # REA, IBAN, contacts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
