"""Tables of the chat bot and the support desk: who may do what, action tokens, tickets.

The bot is an adapter (architecture convention 12): everything it must remember across a
restart lives here, never in PTB's memory. Roles and ticket states are plain strings (like the
other enums of the store) so a new role or state needs no migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime


class BotUser(Base):
    """A Telegram user we know, and the roles they hold (no row: a stranger, refused)."""

    __tablename__ = "bot_user"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(320))  # a customer's address, for mail
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BotAudit(Base):
    """One line per decision the bot took about a person: allowed, refused, stale, done."""

    __tablename__ = "bot_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))  # "/status", "ticket:take", ...
    object_ref: Mapped[str | None] = mapped_column(String(100))  # "ticket:12"
    outcome: Mapped[str] = mapped_column(String(24))  # allowed | refused | stale | used | ...
    detail: Mapped[str] = mapped_column(Text, default="")


class ActionToken(Base):
    """A button's meaning, kept server-side: the wire carries only ``token``.

    Bound to a verb and an object, to a user (``user_id``) or to anyone holding ``role``, and to
    the chat it was posted in (a forwarded copy elsewhere is refused). All tokens of one card
    share ``card``: using one retires its siblings, so Accept then Refuse cannot both happen.
    """

    __tablename__ = "action_token"

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    card: Mapped[str] = mapped_column(String(24), index=True)
    verb: Mapped[str] = mapped_column(String(40))
    object_ref: Mapped[str] = mapped_column(String(100))
    arg: Mapped[str | None] = mapped_column(String(100))  # e.g. the priority a button sets
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str | None] = mapped_column(String(24))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_by: Mapped[int | None] = mapped_column(BigInteger)


class Ticket(Base):
    """A support request (seed process: receive, classify, cooperate, escalate, solve, tell)."""

    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(16))  # "telegram" | "email"
    requester_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # Telegram user
    requester_email: Mapped[str | None] = mapped_column(String(320), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    area: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=1)  # support level L1..L3
    status: Mapped[str] = mapped_column(String(24))
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The staff group's triage card for this ticket, so it can be edited in place.
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_ticket_status", "status", "id"),)


class TicketEvent(Base):
    """One line of a ticket's history; the SLA clock is recomputed from these (never a counter).

    ``message_id`` is the Message-ID of the mail that carried the event in or out: replies
    thread by it, and the same mail delivered twice adds nothing. ``announced_at`` is when the
    bot told the people concerned (a durable to-do list for the bot's feed).
    """

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))  # "tg:42", "mail:a@b.it", "system"
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    status_after: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    message_id: Mapped[str | None] = mapped_column(String(400), unique=True)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_ticket_event_announce", "announced_at", "id"),)
