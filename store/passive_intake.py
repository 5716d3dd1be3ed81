"""Passive intake use-cases: record a received file (deduplicated) and SdI's messages about it.

Duplicates are found by identity and content, never by file name (peers-sdi.md: the classic
bug): the same IdentificativoSdI or the same SHA-256 is the same file; the same seller VAT id +
year + number + type is the same invoice (SdI's 00404 key, domain.md §1.4). A duplicate
delivery is logged against what we already have; nothing is stored twice.

Rows come in as column-name dicts built by the applier (the store may not import handlers).
Session first, never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_passive import (
    EsitoState,
    InvoiceAttachment,
    InvoiceLine,
    InvoiceParty,
    InvoicePayment,
    InvoiceSummary,
    PassiveEsito,
    PassiveSdiMessage,
    ReceivedDelivery,
    ReceivedFile,
    ReceivedInvoice,
)
from store.sql import insert_many, insert_returning_ids

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """One body to store: its ``passive_invoice`` columns and its children's."""

    values: Row
    lines: Sequence[Row] = ()
    parties: Sequence[Row] = ()
    summaries: Sequence[Row] = ()
    payments: Sequence[Row] = ()
    attachments: Sequence[Row] = ()  # safe_name, original_name, sha256, size, formato, ...

    @property
    def identity(self) -> tuple[Any, ...]:
        """Seller id, year, number, type."""
        v = self.values
        return (v["seller_country"], v["seller_code"], v["anno"], v["numero"],
                v["tipo_documento"])


@dataclass(frozen=True, slots=True)
class NewFile:
    """One delivery of a file to record: its ``passive_file`` columns, bodies and delivery row."""

    file: Row
    invoices: Sequence[NewInvoice]
    delivery: Row
    duplicate: str | None = None  # why some of its bodies are not stored (already received)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What `record_file` did: the file the delivery landed on, and whether it was a duplicate."""

    file_id: int
    delivery_id: int
    duplicate: str | None
    invoice_ids: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # of the bodies stored now


@dataclass(frozen=True, slots=True)
class _Stored:
    """The stored rows that new files could duplicate (one query per table for many files)."""

    by_ident: dict[str, tuple[int, str]]  # IdentificativoSdI -> (file id, file name)
    by_sha: dict[str, tuple[int, str]]  # file SHA-256 -> (file id, file name)
    invoices: dict[tuple[Any, ...], tuple[int, int]]  # identity -> (invoice id, file id)


async def _stored(session: AsyncSession, files: Sequence[NewFile]) -> _Stored:
    idents = {f.file["identificativo_sdi"] for f in files if f.file.get("identificativo_sdi")}
    shas = {f.file["file_sha256"] for f in files}
    rows = (await session.execute(
        select(ReceivedFile.id, ReceivedFile.file_name, ReceivedFile.identificativo_sdi,
               ReceivedFile.file_sha256)
        .where(ReceivedFile.identificativo_sdi.in_(idents) | ReceivedFile.file_sha256.in_(shas))
    )).all()
    identities = {inv.identity for f in files for inv in f.invoices}
    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    if identities:
        key = tuple_(ReceivedInvoice.seller_country, ReceivedInvoice.seller_code,
                     ReceivedInvoice.anno, ReceivedInvoice.numero, ReceivedInvoice.tipo_documento)
        for r in (await session.execute(
            select(ReceivedInvoice.id, ReceivedInvoice.file_id, *key.clauses)
            .where(key.in_(list(identities)))
        )).all():
            found[tuple(r[2:])] = (r[0], r[1])
    return _Stored(
        by_ident={r.identificativo_sdi: (r.id, r.file_name) for r in rows
                  if r.identificativo_sdi in idents},
        by_sha={r.file_sha256: (r.id, r.file_name) for r in rows if r.file_sha256 in shas},
        invoices=found,
    )


async def fresh_files(session: AsyncSession, files: Sequence[NewFile]) -> list[bool]:
    """Which of ``files`` `insert_files` may store as they are, all at once (two queries).

    A file is fresh when nothing stored matches its IdentificativoSdI, SHA-256 or any body's
    identity, and no other file of ``files`` shares one of them either: recording it then does
    exactly what `record_file` would, in any order. The others go through `record_file`.
    """
    stored = await _stored(session, files)
    seen: dict[object, int] = {}
    for f in files:
        for k in _keys(f):
            seen[k] = seen.get(k, 0) + 1
    return [
        f.file["file_sha256"] not in stored.by_sha
        and f.file.get("identificativo_sdi") not in stored.by_ident
        and not any(inv.identity in stored.invoices for inv in f.invoices)
        and all(seen[k] == 1 for k in _keys(f))
        for f in files
    ]


def _keys(f: NewFile) -> set[object]:
    ident = f.file.get("identificativo_sdi")
    return {("sha", f.file["file_sha256"]), *((("id", ident),) if ident else ()),
            *(("inv", inv.identity) for inv in f.invoices)}


async def insert_files(
    session: AsyncSession, files: Sequence[NewFile], *, now: datetime
) -> list[Recorded]:
    """Store files known to be new (see `fresh_files`), their bodies and deliveries.

    One multi-row INSERT per table for all of them, ids returned in order: the cost of a batch
    of deliveries is a handful of statements, not a dozen per file.
    """
    if not files:
        return []
    file_ids = await insert_returning_ids(
        session, ReceivedFile, [{**f.file, "created_at": now} for f in files])
    bodies = [(fid, inv) for fid, f in zip(file_ids, files, strict=True) for inv in f.invoices]
    invoice_ids = await insert_returning_ids(session, ReceivedInvoice, [
        {**inv.values, "file_id": fid, "created_at": now} for fid, inv in bodies])
    for model, part in ((InvoiceLine, "lines"), (InvoiceParty, "parties"),
                        (InvoiceSummary, "summaries"), (InvoicePayment, "payments"),
                        (InvoiceAttachment, "attachments")):
        rows = [{**r, "invoice_id": iid} for iid, (_fid, inv) in zip(invoice_ids, bodies,
                                                                      strict=True)
                for r in getattr(inv, part)]
        await insert_many(session, model, rows)
    delivery_ids = await insert_returning_ids(session, ReceivedDelivery, [
        {**f.delivery, "file_id": fid, "duplicate": f.duplicate, "recorded_at": now}
        for fid, f in zip(file_ids, files, strict=True)])
    out = []
    ids = iter(zip(invoice_ids, bodies, strict=True))
    for fid, did, f in zip(file_ids, delivery_ids, files, strict=True):
        mine = [next(ids) for _ in f.invoices]
        out.append(Recorded(fid, did, f.duplicate, [iid for iid, _ in mine],
                            [inv.values["position"] for _, (_fid, inv) in mine]))
    return out


async def _log_delivery(
    session: AsyncSession, file_id: int, delivery: Row, duplicate: str | None, now: datetime
) -> int:
    return (await insert_returning_ids(session, ReceivedDelivery, [
        {**delivery, "file_id": file_id, "duplicate": duplicate, "recorded_at": now}]))[0]


async def record_file(
    session: AsyncSession,
    *,
    file: Row,
    invoices: Sequence[NewInvoice],
    delivery: Row,
    now: datetime,
) -> Recorded:
    """Store a received file and its invoices once; log this delivery in every case."""
    new = NewFile(file, invoices, delivery)
    stored = await _stored(session, [new])
    ident = file.get("identificativo_sdi")
    if ident and ident in stored.by_ident:
        fid, name = stored.by_ident[ident]
        why = f"same IdentificativoSdI {ident} (file {name})"
        return Recorded(fid, await _log_delivery(session, fid, delivery, why, now), why)
    if file["file_sha256"] in stored.by_sha:
        fid, name = stored.by_sha[file["file_sha256"]]
        why = f"same content (SHA-256) as file {name}"
        return Recorded(fid, await _log_delivery(session, fid, delivery, why, now), why)
    fresh = [inv for inv in invoices if inv.identity not in stored.invoices]
    dups = [(inv, stored.invoices[inv.identity]) for inv in invoices
            if inv.identity in stored.invoices]
    why_inv = "; ".join(
        f"invoice {' '.join(map(str, inv.identity))} already received (invoice #{old_id})"
        for inv, (old_id, _file_id) in dups) or None
    if not fresh:
        first = dups[0][1][1]
        return Recorded(first, await _log_delivery(session, first, delivery, why_inv, now),
                        why_inv)
    return (await insert_files(session, [NewFile(file, fresh, delivery, why_inv)], now=now))[0]


# --- SdI messages about received files (SE, DT) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdiMessageIn:
    """An SdI message as the applier hands it over (plain values from `SdiNotification`)."""

    type: str  # SE, DT, ...
    file_name: str  # the message file, e.g. IT..._SE_003.xml
    invoice_stem: str | None  # from the message file name
    nome_file: str | None
    identificativo_sdi: str | None
    sha256: str
    detail: str | None
    scarto: str | None = None  # SE: EN00 / EN01
    message_id_committente: str | None = None
    posizione: int | None = None  # RiferimentoFattura/PosizioneFattura (a lot)
    numero: str | None = None


async def find_file(session: AsyncSession, msg: SdiMessageIn) -> ReceivedFile | None:
    """The received file a message is about: by NomeFile, then IdentificativoSdI, then stem."""
    if msg.nome_file:
        found = (await session.execute(select(ReceivedFile).where(
            ReceivedFile.file_name == msg.nome_file))).scalar()
        if found is not None:
            return found
    if msg.identificativo_sdi:
        found = (await session.execute(select(ReceivedFile).where(
            ReceivedFile.identificativo_sdi == msg.identificativo_sdi))).scalar()
        if found is not None:
            return found
    if msg.invoice_stem:
        for ext in (".xml", ".xml.p7m", ".zip"):
            found = (await session.execute(select(ReceivedFile).where(
                ReceivedFile.file_name == msg.invoice_stem + ext))).scalar()
            if found is not None:
                return found
    return None


async def _targets(session: AsyncSession, file_id: int, msg: SdiMessageIn) -> list[int]:
    query = select(ReceivedInvoice.id).where(ReceivedInvoice.file_id == file_id)
    if msg.posizione is not None:
        query = query.where(ReceivedInvoice.position == msg.posizione)
    elif msg.numero is not None:
        query = query.where(ReceivedInvoice.numero == msg.numero)
    return list((await session.execute(query)).scalars())


async def record_sdi_message(
    session: AsyncSession, msg: SdiMessageIn, *, inbox_id: int | None, received_at: datetime
) -> bool:
    """Record an SdI message about a file we received; False when it is not one of ours.

    DT closes the EC window for the file (or one invoice of a lot): no EC is sent after it.
    SE marks the EC it answers (by MessageIdCommittente) as rejected with EN00/EN01, so the
    user sees that SdI did not forward it (domain.md §3.2-3.3). A repeated message is a no-op.
    """
    file = await find_file(session, msg)
    if file is None:
        return False
    seen = (await session.execute(select(PassiveSdiMessage.id).where(
        (PassiveSdiMessage.file_id == file.id) & (PassiveSdiMessage.sha256 == msg.sha256)
    ))).scalar()
    if seen is not None:
        return True
    session.add(PassiveSdiMessage(file_id=file.id, inbox_id=inbox_id, type=msg.type,
                                  file_name=msg.file_name, sha256=msg.sha256,
                                  detail=msg.detail, received_at=received_at))
    targets = await _targets(session, file.id, msg)
    if msg.type == "DT":
        if msg.posizione is None and msg.numero is None:
            file.dt_at = received_at
        if targets:
            await session.execute(update(ReceivedInvoice).where(
                ReceivedInvoice.id.in_(targets)).values(dt_at=received_at))
    elif msg.type == "SE":
        query = select(PassiveEsito).where(PassiveEsito.invoice_id.in_(targets or [-1]))
        if msg.message_id_committente:
            query = query.where(
                PassiveEsito.message_id_committente == msg.message_id_committente)
        esito = (await session.execute(query.order_by(PassiveEsito.id.desc()))).scalar()
        if esito is not None:
            esito.state = EsitoState.REJECTED
            esito.scarto = msg.scarto
            esito.scarto_note = msg.detail
    await session.flush()
    return True
