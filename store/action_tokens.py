"""Action tokens: the short opaque ids that inline buttons carry instead of data.

Telegram allows 64 bytes of ``callback_data`` and shows it to anyone holding the message, so
a button carries only a random token; what it means (verb, object, who may press it, where)
stays here. A token is used once: `redeem` is one conditional UPDATE, so a double click or
two people pressing at once cannot both win, and every token of the same card is retired
with it (Accept and Refuse cannot both happen). Stale buttons (after a restart, after expiry,
after a decision) and forwarded copies resolve to a refusal the bot can explain.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.bot_users import Role, has_role, roles_of, support_level
from store.models_bot import ActionToken

SUPPORT = "support"  # a pseudo-role for ``role=``: anyone at any support level
PREFIX = "t:"  # the only thing on the wire besides the token: lets the bot route the press


@dataclass(frozen=True, slots=True)
class Button:
    """One button to issue: its label, verb, object and optional argument."""

    label: str
    verb: str
    object_ref: str
    arg: str | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    """An issued button: label and the ``callback_data`` to put on the wire (< 64 bytes)."""

    label: str
    data: str


class Refusal(enum.StrEnum):
    """Why a press does nothing."""

    UNKNOWN = "unknown"  # never issued, or purged
    USED = "used"  # this card was already acted on (double click, second person)
    EXPIRED = "expired"
    NOT_YOURS = "not-yours"  # bound to someone else, or the role is gone
    WRONG_CHAT = "wrong-chat"  # a forwarded copy pressed elsewhere


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What a valid press means."""

    verb: str
    object_ref: str
    arg: str | None
    card: str


def new_token() -> str:
    """Return a fresh unguessable token (16 url-safe characters, 96 bits)."""
    return secrets.token_urlsafe(12)


async def issue(
    session: AsyncSession,
    buttons: Iterable[Button],
    *,
    user_id: int | None = None,
    role: str | None = None,
    chat_id: int | None,
    ttl: timedelta,
    now: datetime,
) -> list[Issued]:
    """Store one card's worth of tokens and return the wire data for each button."""
    if user_id is None and role is None:
        raise ValueError("a token must be bound to a user or a role")
    card = new_token()
    issued = []
    for b in buttons:
        token = new_token()
        session.add(
            ActionToken(
                token=token,
                card=card,
                verb=b.verb,
                object_ref=b.object_ref,
                arg=b.arg,
                user_id=user_id,
                role=role,
                chat_id=chat_id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        issued.append(Issued(b.label, PREFIX + token))
    await session.flush()
    return issued


async def redeem(
    session: AsyncSession, data: str, *, user_id: int, chat_id: int | None, now: datetime
) -> Redeemed | Refusal:
    """Check and use the token in ``data`` for ``user_id`` pressing in ``chat_id``."""
    token = data.removeprefix(PREFIX)
    row = await session.get(ActionToken, token)
    if row is None or not data.startswith(PREFIX):
        return Refusal.UNKNOWN
    if row.used_at is not None:
        return Refusal.USED
    if row.expires_at <= now:
        return Refusal.EXPIRED
    if row.chat_id is not None and row.chat_id != chat_id:
        return Refusal.WRONG_CHAT
    if row.user_id is not None and row.user_id != user_id:
        return Refusal.NOT_YOURS
    if row.role is not None and not _holds(await roles_of(session, user_id), row.role):
        return Refusal.NOT_YOURS
    # The conditional UPDATE is the lock: of two concurrent presses only one sees a row change.
    result = await session.execute(
        update(ActionToken)
        .where((ActionToken.card == row.card) & ActionToken.used_at.is_(None))
        .values(used_at=now, used_by=user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return Refusal.USED
    return Redeemed(row.verb, row.object_ref, row.arg, row.card)


def _holds(roles: frozenset[str], role: str) -> bool:
    # "support" stands for any support level: a triage card is for the whole desk, and the
    # handler checks the level against the ticket's.
    if role == SUPPORT:
        return support_level(roles) > 0
    return has_role(roles, Role(role))


async def retire(session: AsyncSession, object_ref: str, *, now: datetime) -> None:
    """Retire every live token about ``object_ref`` (the object moved on without a press)."""
    await session.execute(
        update(ActionToken)
        .where((ActionToken.object_ref == object_ref) & ActionToken.used_at.is_(None))
        .values(used_at=now)
    )


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete tokens that expired before ``older_than`` (housekeeping)."""
    result = await session.execute(delete(ActionToken).where(ActionToken.expires_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def live(session: AsyncSession, object_ref: str) -> list[ActionToken]:
    """Return the unused tokens about ``object_ref`` (tests, diagnostics)."""
    query = select(ActionToken).where(
        (ActionToken.object_ref == object_ref) & ActionToken.used_at.is_(None)
    )
    return list((await session.execute(query)).scalars())
