"""Tables of the bot's invoice feeds: what it has told people about invoices, and who listens.

The feeds follow the desk's pattern (the bot polls the store for what it has not told yet), but
the invoice tables belong to other areas, so the bookkeeping lives beside them here instead of
as columns on them:

* `BotFeedMark` — one row per thing told: a supplier invoice's approval card (with the message,
  so the decision can be written on it), an active invoice's outcome (by event id), a deadline
  reminder. The primary key makes "told once" a property of the store, not of the bot's memory.
* `BotFeedFloor` — per feed, the highest object id below which everything is settled, so each
  pass scans only recent rows; set past the old rows on first run (no flood of history).
* `BotSubscription` — the operators who asked for active-invoice outcomes (``/subscribe``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UtcDateTime


class BotFeedMark(Base):
    """Something the bot told (``feed``: passive-card, outcome, remind-<kind>)."""

    __tablename__ = "bot_feed_mark"

    feed: Mapped[str] = mapped_column(String(24), primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class BotFeedFloor(Base):
    """Everything of ``feed`` with an id up to ``floor_id`` is told (or predates the bot)."""

    __tablename__ = "bot_feed_floor"

    feed: Mapped[str] = mapped_column(String(24), primary_key=True)
    floor_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BotSubscription(Base):
    """An operator who gets active-invoice outcomes in private."""

    __tablename__ = "bot_subscription"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
