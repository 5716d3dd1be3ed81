"""Who may use the bot: Telegram users, their roles, and the audit trail of every decision.

The bot asks here on every update and every button press (authorisation is re-checked
server-side each time, never remembered in the chat); an unknown or inactive user holds no
role at all.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_bot import BotAudit, BotUser


class Role(enum.StrEnum):
    """What a person may do through the bot (issue 9)."""

    APPROVER = "approver"  # accept / refuse supplier invoices
    OPERATOR = "operator"  # /status, /quarantine, requeue
    CUSTOMER = "customer"  # open and follow their own tickets
    SUPPORT_L1 = "support-l1"
    SUPPORT_L2 = "support-l2"
    SUPPORT_L3 = "support-l3"
    ADMIN = "admin"  # everything


SUPPORT_ROLES = (Role.SUPPORT_L1, Role.SUPPORT_L2, Role.SUPPORT_L3)


def support_level(roles: Iterable[str]) -> int:
    """Return the highest support level held (0: not support staff; admins count as L3)."""
    held = set(roles)
    if Role.ADMIN in held:
        return 3
    return max((i + 1 for i, r in enumerate(SUPPORT_ROLES) if r in held), default=0)


def has_role(roles: Iterable[str], role: Role) -> bool:
    """Tell whether ``roles`` grant ``role`` (an admin holds every role)."""
    held = set(roles)
    return role in held or Role.ADMIN in held


async def upsert(
    session: AsyncSession,
    telegram_id: int,
    *,
    name: str,
    roles: Iterable[Role | str],
    email: str | None = None,
    active: bool = True,
    now: datetime,
) -> BotUser:
    """Create or replace a user's name, roles and e-mail (the admin's `pecora bot user` tool)."""
    clean = sorted({Role(r).value for r in roles})
    row = await session.get(BotUser, telegram_id)
    if row is None:
        row = BotUser(telegram_id=telegram_id, created_at=now)
        session.add(row)
    row.name, row.roles, row.email, row.active, row.updated_at = name, clean, email, active, now
    await session.flush()
    return row


async def get(session: AsyncSession, telegram_id: int) -> BotUser | None:
    """Return the active user ``telegram_id``, or None for a stranger (or a disabled user)."""
    row = await session.get(BotUser, telegram_id)
    return row if row is not None and row.active else None


async def roles_of(session: AsyncSession, telegram_id: int) -> frozenset[str]:
    """Return the roles held right now (empty for a stranger)."""
    row = await get(session, telegram_id)
    return frozenset(row.roles) if row is not None else frozenset()


async def with_role(session: AsyncSession, role: Role) -> list[BotUser]:
    """Return the active users holding ``role`` (admins included), by id."""
    rows = (await session.execute(select(BotUser).order_by(BotUser.telegram_id))).scalars()
    return [r for r in rows if r.active and has_role(r.roles, role)]


async def audit(
    session: AsyncSession,
    *,
    telegram_id: int | None,
    chat_id: int | None,
    action: str,
    outcome: str,
    object_ref: str | None = None,
    detail: str = "",
    now: datetime,
) -> None:
    """Write one audit line (who, where, what, on what, with which outcome)."""
    session.add(
        BotAudit(
            at=now,
            telegram_id=telegram_id,
            chat_id=chat_id,
            action=action[:64],
            object_ref=object_ref,
            outcome=outcome,
            detail=detail,
        )
    )
    await session.flush()


async def audit_trail(
    session: AsyncSession, *, telegram_id: int | None = None, limit: int = 100
) -> list[BotAudit]:
    """Return the newest audit lines, optionally for one user."""
    query = select(BotAudit).order_by(BotAudit.id.desc()).limit(limit)
    if telegram_id is not None:
        query = query.where(BotAudit.telegram_id == telegram_id)
    return list((await session.execute(query)).scalars())
