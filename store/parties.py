"""Address-book use-cases: our seller profiles and our customers (session first, no commit).

Parties are upserted by their key (the operator's handle), so re-importing a customer list is
idempotent and invoices keep pointing at the same row. A customer may be linked to an Albo
member (mass messaging) rather than duplicating the person there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_messaging import AlboMember
from store.models_parties import Party, PartyKind, PartyRole

COLUMNS = (
    "denominazione", "nome", "cognome", "id_paese", "id_codice", "codice_fiscale", "indirizzo",
    "numero_civico", "cap", "comune", "provincia", "nazione", "codice_destinatario",
    "pec_destinatario", "regime_fiscale", "email", "extra",
)


class UnknownAlboMember(LookupError):
    """The Albo has no member with that id."""


async def upsert(
    session: AsyncSession,
    key: str,
    *,
    role: PartyRole,
    kind: PartyKind,
    fields: Mapping[str, Any],
    now: datetime,
) -> Party:
    """Insert or update the party ``key`` with ``fields`` (names as in `COLUMNS`)."""
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown party fields: {', '.join(sorted(unknown))}")
    party = await get(session, key)
    if party is None:
        party = Party(key=key, role=role, kind=kind, created_at=now, extra={}, nazione="IT")
        session.add(party)
    party.role, party.kind, party.updated_at = role, kind, now
    for name, value in fields.items():
        setattr(party, name, value)
    if party.extra is None:
        party.extra = {}
    await session.flush()
    return party


async def get(session: AsyncSession, key: str) -> Party | None:
    """The party called ``key``."""
    return (await session.execute(select(Party).where(Party.key == key))).scalar_one_or_none()


async def by_id(session: AsyncSession, party_id: int) -> Party | None:
    """The party with row id ``party_id``."""
    return await session.get(Party, party_id)


async def default_seller(session: AsyncSession) -> Party | None:
    """The only seller profile (None when there are none or several: name one)."""
    rows = list(
        (await session.execute(select(Party).where(Party.role == PartyRole.SELLER).limit(2)))
        .scalars()
    )
    return rows[0] if len(rows) == 1 else None


async def listing(session: AsyncSession, *, role: PartyRole | None = None) -> list[Party]:
    """Every party (of ``role``), by key."""
    query = select(Party).order_by(Party.key)
    if role is not None:
        query = query.where(Party.role == role)
    return list((await session.execute(query)).scalars())


async def link_albo(session: AsyncSession, key: str, member_id: str | None, *,
                    now: datetime) -> Party:
    """Link customer ``key`` to the Albo member ``member_id`` (None unlinks)."""
    party = await get(session, key)
    if party is None:
        raise LookupError(f"no party {key!r}")
    if member_id is not None:
        found = (
            await session.execute(select(AlboMember.id).where(AlboMember.member_id == member_id))
        ).scalar_one_or_none()
        if found is None:
            raise UnknownAlboMember(f"no Albo member {member_id!r}")
    party.albo_member_id, party.updated_at = member_id, now
    await session.flush()
    return party


async def albo_member(session: AsyncSession, party: Party) -> AlboMember | None:
    """The Albo member a customer is linked to (its contacts: e-mail for courtesy copies)."""
    if party.albo_member_id is None:
        return None
    return (
        await session.execute(
            select(AlboMember).where(AlboMember.member_id == party.albo_member_id)
        )
    ).scalar_one_or_none()
