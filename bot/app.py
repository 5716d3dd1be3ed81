"""The bot runtime: build PTB's Application and drive its lifecycle by hand in the daemon's loop.

No ``run_polling()``: it would own the event loop and the signals. `BotRunner.run` does what
PTB's docs advise when sharing a loop: ``async with app`` (initialize/shutdown), then
``updater.start_polling()`` (or our own webhook route), then ``app.start()``; on stop,
``updater.stop()`` then ``app.stop()``. ``post_init`` and friends are not called in this mode,
so the runner calls its own hooks. Requests go through ``AIORateLimiter`` with retries: without
them a 429 loses the message (chatops-and-messaging.md §C.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import time
from typing import Any

from telegram import BotCommand, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import desk, feed, ops, outcomes, triage
from bot.auth import gate
from bot.buttons import PREFIX_PATTERN, on_press, on_reply
from bot.context import BotContext, BotOptions, Callback, InvoiceHooks, SlaText
from store import bot_users
from store.bot_users import support_level

log = logging.getLogger(__name__)

# PTB 22 warns that RetryAfter.retry_after becomes a timedelta in its next major version; we
# never read it (AIORateLimiter does), so opt in now and keep the logs (and -W error) quiet.
os.environ.setdefault("PTB_TIMEDELTA", "1")

COMMANDS = [
    BotCommand("ticket", "Apri un ticket di assistenza"),
    BotCommand("mytickets", "I miei ticket"),
    BotCommand("history", "Storia di un ticket"),
    BotCommand("queue", "Coda del supporto"),
    BotCommand("status", "Stato di pecora (operatori)"),
    BotCommand("quarantine", "Messaggi in quarantena (operatori)"),
    BotCommand("invoices", "Ultime fatture emesse e stati (operatori)"),
    BotCommand("subscribe", "Ricevi gli esiti delle fatture emesse (operatori)"),
    BotCommand("unsubscribe", "Smetti di ricevere gli esiti"),
    BotCommand("whoami", "Il mio id e i miei ruoli"),
]
ALERT_EVERY = 60.0  # seconds between two alerts about the same kind of error


def start_cmd(ctx: BotContext) -> Callback:
    """/start, /help, /whoami: who you are and what you may do."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, msg = update.effective_user, update.effective_message
        assert user is not None and msg is not None
        async with ctx.sessions() as session:
            held = sorted(await bot_users.roles_of(session, user.id))
        lines = [f"Ciao {user.first_name}. Id {user.id}, ruoli: {', '.join(held)}."]
        lines.append("/ticket apre una richiesta, /mytickets le elenca.")
        if support_level(held):
            lines.append("/queue mostra la coda; i ticket arrivano nel gruppo dello staff.")
        if {"operator", "admin"} & set(held):
            lines.append("/status e /quarantine per l'esercizio; /invoices, /subscribe.")
        if {"approver", "admin"} & set(held):
            lines.append("Le fatture passive da approvare arrivano nella chat degli approvatori.")
        await msg.reply_text("\n".join(lines))

    return start


class ErrorReporter:
    """The error handler (PTB's errorhandlerbot pattern): log with the traceback, and alert
    the alerts chat, at most once a minute per error type so an error loop cannot flood it."""

    def __init__(self, ctx: BotContext) -> None:
        self._ctx = ctx
        self._last: dict[str, float] = {}
        self.seen: list[BaseException] = []  # for tests and /status

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """See `telegram.ext.Application.add_error_handler`."""
        error = context.error
        if error is None:
            return
        if isinstance(error, BadRequest) and "not modified" in str(error).lower():
            return  # a redraw that changed nothing: benign
        self.seen.append(error)
        if isinstance(error, Forbidden):  # the user blocked the bot: nothing to fix here
            log.info("bot: forbidden: %s", error)
            return
        log.error("bot: exception while handling an update", exc_info=error)
        kind = type(error).__name__
        chat = self._ctx.alerts_chat
        now = time.monotonic()
        if chat is None or now - self._last.get(kind, -ALERT_EVERY) < ALERT_EVERY:
            return
        self._last[kind] = now
        with contextlib.suppress(TelegramError):  # alerting must never raise in turn
            await context.bot.send_message(
                chat, f"⚠️ pecora bot: {html.escape(kind)}: {html.escape(str(error))[:500]}"
            )


class BotRunner:
    """Owns the Application; `run` lives as long as the daemon's stop event is not set."""

    def __init__(
        self,
        sessions: Any,
        options: BotOptions,
        *,
        sla_text: SlaText | None = None,
        invoices: InvoiceHooks | None = None,
    ) -> None:
        self.ctx = BotContext(sessions, options, sla_text, invoices or InvoiceHooks())
        self.errors = ErrorReporter(self.ctx)
        self.app = self._build()
        self.ctx.bot_data = self.app.bot_data  # prompt bookkeeping lives with the Application
        self.running = asyncio.Event()

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        opts = self.ctx.options
        builder = (
            ApplicationBuilder()
            .token(opts.token)
            .base_url(opts.base_url)
            .base_file_url(opts.base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=opts.max_retries))
            # getUpdates has its own pool of 1 by default; 2 avoids "pool timeout" when the
            # final getUpdates of stop() overlaps the last long poll (§C.1).
            .get_updates_connection_pool_size(2)
        )
        if opts.mode == "webhook":
            builder = builder.updater(None)
        app = builder.build()
        ctx = self.ctx
        app.add_handler(TypeHandler(Update, gate(ctx)), group=-1)
        app.add_handler(CallbackQueryHandler(on_press(ctx), pattern=PREFIX_PATTERN))
        for name, factory in (
            ("start", start_cmd),
            ("help", start_cmd),
            ("whoami", start_cmd),
            ("status", ops.status_cmd),
            ("quarantine", ops.quarantine_cmd),
            ("ticket", desk.ticket_cmd),
            ("mytickets", desk.mytickets_cmd),
            ("history", desk.history_cmd),
            ("queue", triage.queue_cmd),
            ("invoices", outcomes.invoices_cmd),
            ("subscribe", outcomes.subscribe_cmd),
            ("unsubscribe", outcomes.unsubscribe_cmd),
        ):
            app.add_handler(CommandHandler(name, factory(ctx)))
        app.add_handler(MessageHandler(filters.REPLY & ~filters.COMMAND, on_reply(ctx)))
        app.add_error_handler(self.errors)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then stop PTB in the documented order."""
        opts, app = self.ctx.options, self.app
        async with app:  # initialize() (getMe) ... shutdown()
            webhook = None
            if opts.mode == "polling":
                assert app.updater is not None
                await app.updater.start_polling(
                    poll_interval=0.0,
                    timeout=int(opts.poll_timeout),
                    allowed_updates=["message", "callback_query"],
                )
            else:
                from bot.webhook import serve_webhook

                webhook = await serve_webhook(app, opts)
            await app.start()
            try:
                await self._on_started()
                self.running.set()
                async with asyncio.TaskGroup() as tg:  # the feed stops with the bot
                    tg.create_task(feed.run(self.ctx, app.bot, stop), name="bot-feed")
                    await stop.wait()
            finally:
                self.running.clear()
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if webhook is not None:
                    await webhook.cleanup()
                await app.stop()

    async def _on_started(self) -> None:
        # post_init is not called in the manual lifecycle: our own start-up hook.
        try:
            await self.app.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # cosmetic: never a reason not to start
            log.warning("bot: could not set the command list: %s", exc)
        log.info("bot started as @%s (%s)", self.app.bot.username, self.ctx.options.mode)
