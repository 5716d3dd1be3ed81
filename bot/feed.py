"""The bot's feed: tell people about ticket events nobody has been told about yet.

Each pass also runs the invoice feed (`bot.invoice_feed`: approval cards, outcomes, reminders).

Events are the durable to-do list (``announced_at`` is empty until told), so nothing is lost
when the bot is down or Telegram answers 429: the next pass tries again. New tickets get their
triage card; customer messages, escalations and SLA alerts go to the staff group; questions
and solutions go to a Telegram requester in private (e-mail requesters were already written to
through the outbox, in the transaction that made the event).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot import invoice_feed
from bot.buttons import Prompt, ask
from bot.context import BotContext
from bot.render import clip
from bot.triage import draw_card
from store import tickets
from store.clock import utcnow
from store.models_bot import Ticket, TicketEvent

log = logging.getLogger(__name__)

STAFF_NOTICES = {
    "customer-message": "Ticket #{id}: nuovo messaggio del cliente:\n{body}",
    "escalated": "Ticket #{id} passato a L{level}. {body}",
    "sla-warning": "⚠️ Ticket #{id}: {body}",
    "sla-breach": "🚨 Ticket #{id}: {body}",
}
REQUESTER_NOTICES = {
    "question": "Il supporto chiede (ticket #{id}):\n{body}\n\nRispondi a questo messaggio.",
    "resolved": (
        "Ticket #{id} risolto:\n{body}\n\nSe il problema resta, rispondi a questo messaggio "
        "e il ticket sarà riaperto."
    ),
}
# Staff actions redraw the card themselves; only what happens without a press redraws here.
REDRAW = {"opened", "customer-message", "sla-warning", "sla-breach"}


async def announce(ctx: BotContext, bot: Bot, t: Ticket, e: TicketEvent) -> None:
    """Tell the people concerned about one event."""
    staff = ctx.options.staff_chat_id
    if e.kind in REDRAW:
        await draw_card(ctx, bot, t.id)
    if e.kind in STAFF_NOTICES and staff is not None:
        text = STAFF_NOTICES[e.kind].format(id=t.id, body=e.body, level=t.level)
        await bot.send_message(staff, clip(text))
    if e.kind in REQUESTER_NOTICES and t.origin == "telegram" and t.requester_id is not None:
        text = clip(REQUESTER_NOTICES[e.kind].format(id=t.id, body=e.body))
        prompt = Prompt("ticket-message", f"ticket:{t.id}", t.requester_id, keep=True)
        await ask(bot, ctx.bot_data, t.requester_id, text, prompt, force=False)


async def run_once(ctx: BotContext, bot: Bot) -> int:
    """Announce what is pending; return how many events were told."""
    async with ctx.sessions() as session:
        pending = await tickets.unannounced(session)
        by_id = {e.ticket_id: await tickets.get(session, e.ticket_id) for e in pending}
    told = 0
    for event in pending:
        ticket = by_id[event.ticket_id]
        assert ticket is not None
        # Refresh: an action may have moved the ticket on since the batch was read.
        async with ctx.sessions() as session:
            ticket = await tickets.get(session, event.ticket_id) or ticket
        await announce(ctx, bot, ticket, event)
        async with ctx.sessions() as session, session.begin():
            await tickets.mark_announced(session, event.id, now=utcnow())
        told += 1
    return told


async def run(ctx: BotContext, bot: Bot, stop: asyncio.Event) -> None:
    """Announce until ``stop``; wake early when a callback sets ``ctx.feed_wake``."""
    failing = False
    while not stop.is_set():
        ctx.feed_wake.clear()
        try:
            await run_once(ctx, bot)
            await invoice_feed.run_once(ctx, bot)
            failing = False
        except TelegramError as exc:  # 429 beyond the retries, network: try again later
            if not failing:
                log.warning("bot feed: Telegram unavailable, will retry: %s", exc)
            failing = True
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(ctx.feed_wake.wait())}
        try:
            await asyncio.wait(
                waiters, timeout=ctx.options.feed_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waiters:
                w.cancel()
