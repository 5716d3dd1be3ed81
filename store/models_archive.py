"""Tables of the legal archive (conservazione, domain.md §6): units, items, parties, chain.

The archived bytes live in the content-addressed `Archive`; these tables are the archive's
index: what each unit holds, the §6.3 metadata that search needs (parties with names, codice
fiscale and partita IVA, document date) and the hash chain. Names are split into lowercase
words (`ArchiveTerm`) so a search by name is an index range scan on both backends, not a
``LIKE '%x%'`` table scan (DM 17/6/2014 search, fast on 100,000 units).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime


class ArchivePackage(Base):
    """A closed package: PdV (daily versamento) with its signed index and rapporto."""

    __tablename__ = "archive_package"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # PdV
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    index_sha256: Mapped[str] = mapped_column(String(64))
    signed_sha256: Mapped[str] = mapped_column(String(64))
    report_sha256: Mapped[str] = mapped_column(String(64))
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    chain_head: Mapped[str] = mapped_column(String(64))
    unit_count: Mapped[int] = mapped_column(Integer)


class ArchiveUnit(Base):
    """One archival unit: a fiscal document with its evidence and manifest (§6.3)."""

    __tablename__ = "archive_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    flow: Mapped[str] = mapped_column(String(4))
    document_type: Mapped[str] = mapped_column(String(8))
    number: Mapped[str] = mapped_column(String(40))
    doc_date: Mapped[dt.date] = mapped_column(Date, index=True)
    sdi_id: Mapped[str | None] = mapped_column(String(40), index=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    retention_class: Mapped[str] = mapped_column(String(40))
    retain_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    package_id: Mapped[int | None] = mapped_column(ForeignKey("archive_package.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_archive_unit_package_created", "package_id", "created_at"),)


class ArchiveItem(Base):
    """One file of a unit, byte-identical as sent or received, named by its SHA-256."""

    __tablename__ = "archive_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("archive_unit.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(24))
    subtype: Mapped[str | None] = mapped_column(String(40))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ArchiveParty(Base):
    """A subject of a unit's document (seller, buyer, ...), searchable by its identifiers."""

    __tablename__ = "archive_party"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("archive_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(300))
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), index=True)
    partita_iva: Mapped[str | None] = mapped_column(String(30), index=True)


class ArchiveTerm(Base):
    """One lowercase word of a party's name, for indexed search by name or denomination."""

    __tablename__ = "archive_term"

    # Binary ("C") order on PostgreSQL so a prefix is an index range whatever the database
    # locale; SQLite compares bytes already.
    term: Mapped[str] = mapped_column(
        String(80).with_variant(String(80, collation="C"), "postgresql"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("archive_unit.id"), primary_key=True)


class ArchiveLink(Base):
    """A link from a unit to another document: credit note ↔ invoice, notification ↔ invoice."""

    __tablename__ = "archive_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("archive_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    target: Mapped[str] = mapped_column(String(200), index=True)
    statement_sha256: Mapped[str] = mapped_column(String(64))


class ArchiveChainEntry(Base):
    """One link of the hash chain over every archived object (handlers/archive/chain.py)."""

    __tablename__ = "archive_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24))
    ref: Mapped[str] = mapped_column(String(64))
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("archive_unit.id"), index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("archive_package.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
