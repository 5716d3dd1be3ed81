"""The invoice half of the bot's feed: approval cards, outcome notices, deadline reminders.

Called by `bot.feed.run` on every pass, after the desk's events. What is pending comes from
``store.bot_feed`` (durable: a card not posted because Telegram was down is posted on a later
pass). A Telegram error ends the pass (the feed backs off and retries); any other error is
logged against its item and the pass goes on, so one odd invoice cannot stall the others.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot
from telegram.error import TelegramError

from bot import invoices, outcomes
from bot.context import BotContext
from store import bot_feed
from store.clock import utcnow

log = logging.getLogger(__name__)


async def run_once(ctx: BotContext, bot: Bot) -> int:
    """Tell what is pending; return how many things were told."""
    told = 0
    if ctx.options.approvers_chat_id is not None:
        async with ctx.sessions() as session, session.begin():
            cards = await bot_feed.pending_passive(session, now=utcnow())
        for new in cards:
            told += await _guarded(invoices.post_card(ctx, bot, new), f"card {new.invoice.id}")
    async with ctx.sessions() as session, session.begin():
        notices = await bot_feed.pending_outcomes(session, now=utcnow())
    for o in notices:
        if await _guarded(outcomes.announce(ctx, bot, o), f"outcome {o.event.id}"):
            async with ctx.sessions() as session, session.begin():
                await bot_feed.mark(session, bot_feed.OUTCOME, o.event.id, now=utcnow())
            told += 1
    told += await _reminders(ctx, bot)
    return told


async def _guarded(step: object, what: str) -> int:
    try:
        await step  # type: ignore[misc]
    except TelegramError:
        raise
    except Exception:
        log.exception("bot feed: %s failed", what)
        return 0
    return 1


async def _reminders(ctx: BotContext, bot: Bot) -> int:
    hooks = ctx.invoices
    chat = ctx.options.approvers_chat_id
    if chat is None or hooks.desk_open is None or not hooks.reminder_before:
        return 0
    # Reminders are about days: looking once a minute is plenty (the feed runs every second).
    last = ctx.bot_data.get("reminders-at", float("-inf"))
    if time.monotonic() - last < hooks.reminder_seconds:
        return 0
    ctx.bot_data["reminders-at"] = time.monotonic()
    now = utcnow()
    if not hooks.desk_open(now):
        return 0  # only while the desk is open: nobody reads a reminder at 3 a.m.
    async with ctx.sessions() as session:
        due = await bot_feed.reminders_due(session, now=now, before=hooks.reminder_before)
    sent = 0
    for d in due:
        if await _guarded(invoices.remind(ctx, bot, d), f"reminder {d.invoice.id}"):
            async with ctx.sessions() as session, session.begin():
                await bot_feed.mark(session, f"remind-{d.kind}", d.invoice.id, now=utcnow())
            sent += 1
    return sent
