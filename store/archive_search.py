"""Search the archive the way DM MEF 17/6/2014 requires (domain.md §6.1, issue 7 §4).

By name or denomination, codice fiscale, partita IVA, date range, and any combination (all
criteria are ANDed). Every criterion is an index lookup: names through `ArchiveTerm` word
prefixes (so "ross" finds "Mario Rossi S.r.l."), identifiers by equality, dates by range on
``doc_date``; the result is ordered newest first and limited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_archive import ArchiveParty, ArchiveTerm, ArchiveUnit


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One unit found, with what an auditor needs to recognise it."""

    identifier: str
    kind: str
    flow: str
    document_type: str
    number: str
    date: dt.date
    sdi_id: str | None
    parties: tuple[str, ...]  # "seller: ACME S.p.A. (IT01234567890)"


def _successor(prefix: str) -> str:
    # Terms are [0-9a-z] only (handlers.archive.manifest.name_terms), so bumping the last
    # character bounds the prefix.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def build_query(
    *,
    name_terms: Sequence[str] = (),
    codice_fiscale: str | None = None,
    partita_iva: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> Select[ArchiveUnit]:
    """Return the SELECT for the given criteria (exposed for EXPLAIN in tests and bench)."""
    query = select(ArchiveUnit)
    for term in sorted(set(name_terms)):
        query = query.where(
            ArchiveUnit.id.in_(
                select(ArchiveTerm.unit_id).where(
                    ArchiveTerm.term >= term, ArchiveTerm.term < _successor(term)
                )
            )
        )
    if codice_fiscale:
        query = query.where(
            ArchiveUnit.id.in_(
                select(ArchiveParty.unit_id).where(
                    ArchiveParty.codice_fiscale == codice_fiscale.strip().upper()
                )
            )
        )
    if partita_iva:
        vat = partita_iva.strip().upper()
        # A bare number means an Italian one: match it with and without the IT prefix.
        wanted = [vat, f"IT{vat}"] if vat[:1].isdigit() else [vat]
        query = query.where(
            ArchiveUnit.id.in_(
                select(ArchiveParty.unit_id).where(ArchiveParty.partita_iva.in_(wanted))
            )
        )
    if date_from:
        query = query.where(ArchiveUnit.doc_date >= date_from)
    if date_to:
        query = query.where(ArchiveUnit.doc_date <= date_to)
    if kind:
        query = query.where(ArchiveUnit.kind == kind)
    return query.order_by(ArchiveUnit.doc_date.desc(), ArchiveUnit.id.desc()).limit(limit)


async def search(
    session: AsyncSession,
    *,
    name_terms: Sequence[str] = (),
    codice_fiscale: str | None = None,
    partita_iva: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[SearchHit]:
    """Return the units matching every criterion given, newest first.

    ``name_terms`` are the lowercase words of the name searched for
    (`handlers.archive.manifest.name_terms`); each must prefix a word of some party's name.
    """
    units = list(
        (
            await session.scalars(
                build_query(
                    name_terms=name_terms, codice_fiscale=codice_fiscale, partita_iva=partita_iva,
                    date_from=date_from, date_to=date_to, kind=kind, limit=limit,
                )
            )
        ).all()
    )
    parties: dict[int, list[str]] = {u.id: [] for u in units}
    if units:
        rows = await session.scalars(
            select(ArchiveParty)
            .where(ArchiveParty.unit_id.in_(list(parties)))
            .order_by(ArchiveParty.id)
        )
        for p in rows:
            ids = ", ".join(x for x in (p.partita_iva, p.codice_fiscale) if x)
            parties[p.unit_id].append(f"{p.role}: {p.display_name}" + (f" ({ids})" if ids else ""))
    return [
        SearchHit(u.identifier, u.kind, u.flow, u.document_type, u.number, u.doc_date, u.sdi_id,
                  tuple(parties[u.id]))
        for u in units
    ]
