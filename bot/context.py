"""What every bot callback shares: the store's sessions, the bot's options, and the hooks the
daemon injects (the SLA text, the feed's wake-up). Built once by `bot.app.BotRunner`.

The bot may import only ``store`` and the pure codecs: anything else it needs from the rest of
pecora (the desk-hours SLA maths lives in ``handlers/desk``) is handed in here by the daemon.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import ContextTypes

from store.models_bot import Ticket
from store.passive import DecisionPolicy

# A PTB callback, as the handlers' constructors want it.
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
# (ticket, its (when, status) history, now) -> a short SLA line for people, e.g. "FR 14:30"
SlaText = Callable[[Ticket, Sequence[tuple[datetime, str]], datetime], str]


@dataclass(frozen=True)
class BotOptions:
    """The bot's runtime settings (the daemon builds them from ``[bot]``)."""

    token: str
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: float = 30.0  # getUpdates long-poll seconds
    webhook_url: str | None = None  # public HTTPS URL Telegram posts to
    webhook_secret: str | None = None  # X-Telegram-Bot-Api-Secret-Token
    webhook_host: str = "127.0.0.1"  # where our aiohttp route listens (behind the proxy)
    webhook_port: int = 8443
    approvers_chat_id: int | None = None
    staff_chat_id: int | None = None
    alerts_chat_id: int | None = None  # errors and operator alerts; staff chat if unset
    max_retries: int = 3  # AIORateLimiter: a 429 is retried this often, then lost
    token_ttl: timedelta = timedelta(days=14)
    feed_seconds: float = 2.0
    support_address: str | None = None  # From: of desk mail to e-mail requesters
    mail_channel: str | None = None  # outbox channel alias for that mail


@dataclass(frozen=True)
class InvoiceHooks:
    """What the invoice feeds need from the daemon (the bot cannot build these itself).

    Without a ``policy`` approval cards carry no buttons (nobody could act on them); without
    ``fetch`` they go out without the PDF; without ``desk_open`` no reminders are sent.
    """

    policy: DecisionPolicy | None = None  # `daemon.config_passive.decision_policy`
    fetch: Callable[[str], Awaitable[bytes]] | None = None  # archive bytes by SHA-256
    desk_open: Callable[[datetime], bool] | None = None  # the desk calendar
    reminder_before: tuple[timedelta, ...] = ()  # thresholds before the EC deadline
    timezone: str = "Europe/Rome"  # how times are shown to people
    reminder_seconds: float = 60.0  # how often reminders are looked for


@dataclass
class BotContext:
    """The shared state of one running bot."""

    sessions: async_sessionmaker[AsyncSession]
    options: BotOptions
    sla_text: SlaText | None = None
    invoices: InvoiceHooks = field(default_factory=InvoiceHooks)
    feed_wake: asyncio.Event = field(default_factory=asyncio.Event)
    # PTB's bot_data of the running Application (prompt bookkeeping; set by `BotRunner`).
    bot_data: dict[Any, Any] = field(default_factory=dict)

    @property
    def alerts_chat(self) -> int | None:
        """Where errors and alerts go."""
        return self.options.alerts_chat_id or self.options.staff_chat_id
