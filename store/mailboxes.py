"""IMAP mailbox positions (UIDVALIDITY, last committed UID) and their last errors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import MailboxPosition


async def position(session: AsyncSession, mailbox: str) -> MailboxPosition | None:
    """Return the stored position of ``mailbox``, if it was ever synced."""
    return await session.get(MailboxPosition, mailbox)


async def advance(
    session: AsyncSession, mailbox: str, *, uidvalidity: int, last_uid: int, now: datetime
) -> None:
    """Record that every UID up to ``last_uid`` under ``uidvalidity`` is committed.

    A new UIDVALIDITY resets the position: UIDs of the old epoch mean nothing any more.
    """
    row = await session.get(MailboxPosition, mailbox, with_for_update=True)
    if row is None:
        session.add(
            MailboxPosition(
                mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now
            )
        )
    elif row.uidvalidity != uidvalidity:
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now
    elif last_uid > row.last_uid:
        row.last_uid, row.updated_at = last_uid, now
    await session.flush()


async def record_error(
    session: AsyncSession, mailbox: str, error: str | None, *, now: datetime
) -> None:
    """Remember the last connection error of a mailbox (None clears it) for `pecora status`."""
    row = await session.get(MailboxPosition, mailbox)
    if row is None:
        row = MailboxPosition(mailbox=mailbox, uidvalidity=None, last_uid=0, updated_at=now)
        session.add(row)
    row.last_error = error
    row.last_error_at = now if error else row.last_error_at
    await session.flush()


async def all_positions(session: AsyncSession) -> list[MailboxPosition]:
    """Return every mailbox position, by name."""
    return list(
        (await session.execute(select(MailboxPosition).order_by(MailboxPosition.mailbox))).scalars()
    )
