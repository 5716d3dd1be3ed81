"""Buttons and prompts: the plumbing between a press (or a typed answer) and the verb it means.

A press carries ``t:<token>``. The token is redeemed in the store first (a single conditional
UPDATE: fast), the callback query is answered straight away with the outcome, and only then
does the verb do its work: so the query never times out, and a stale button, a double click,
someone else's button or a forwarded copy just gets a short explanation and changes nothing.

A prompt is a ForceReply message asking for text (a refusal reason, a question for the
customer). Which prompt a reply answers is convenience state kept in memory (PTB's
``bot_data``), as architecture convention 12 allows: after a restart the answer is refused
with "press the button again", and nothing half-done is left in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.auth import audit
from bot.context import BotContext, Callback
from store import action_tokens
from store.action_tokens import Button, Issued, Redeemed, Refusal
from store.clock import utcnow

log = logging.getLogger(__name__)

Verb = Callable[[BotContext, Update, Redeemed], Awaitable[None]]
Answer = Callable[[BotContext, Update, "Prompt", str], Awaitable[None]]
VERBS: dict[str, Verb] = {}
ANSWERS: dict[str, Answer] = {}

REFUSALS = {
    Refusal.UNKNOWN: "Questo pulsante non è più valido.",
    Refusal.USED: "Già fatto: questa scheda è stata usata.",
    Refusal.EXPIRED: "Pulsante scaduto: richiedi di nuovo.",
    Refusal.NOT_YOURS: "Questo pulsante non è per te.",
    Refusal.WRONG_CHAT: "Questo pulsante vale solo nella chat originale.",
}


def verb(name: str) -> Callable[[Verb], Verb]:
    """Register what a button verb does."""

    def register(func: Verb) -> Verb:
        VERBS[name] = func
        return func

    return register


def answer(kind: str) -> Callable[[Answer], Answer]:
    """Register what a prompt's answer does."""

    def register(func: Answer) -> Answer:
        ANSWERS[kind] = func
        return func

    return register


def keyboard(issued: list[Issued], per_row: int = 3) -> InlineKeyboardMarkup:
    """Lay issued buttons out in rows."""
    buttons = [InlineKeyboardButton(b.label, callback_data=b.data) for b in issued]
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


async def issue(
    ctx: BotContext,
    buttons: list[Button],
    *,
    chat_id: int | None,
    user_id: int | None = None,
    role: str | None = None,
    per_row: int = 3,
) -> InlineKeyboardMarkup:
    """Store a card's tokens and return its keyboard."""
    async with ctx.sessions() as session, session.begin():
        issued = await action_tokens.issue(
            session,
            buttons,
            user_id=user_id,
            role=role,
            chat_id=chat_id,
            ttl=ctx.options.token_ttl,
            now=utcnow(),
        )
    return keyboard(issued, per_row)


def on_press(ctx: BotContext) -> Callback:
    """Return the CallbackQueryHandler callback for every ``t:`` button."""

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        chat_id = query.message.chat.id if query.message is not None else None
        async with ctx.sessions() as session, session.begin():
            got = await action_tokens.redeem(
                session, query.data, user_id=query.from_user.id, chat_id=chat_id, now=utcnow()
            )
        if isinstance(got, Refusal):
            await query.answer(REFUSALS[got])
            await audit(ctx, update, str(got), action="button")
            return
        await query.answer()
        await audit(ctx, update, "used", action=got.verb, object_ref=got.object_ref)
        await VERBS[got.verb](ctx, update, got)

    return press


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question waiting for a typed answer from one person."""

    kind: str
    object_ref: str
    user_id: int
    origin_chat: int | None = None  # where the card that asked lives
    origin_message: int | None = None
    keep: bool = False  # answers keep coming (a customer replying to their ticket's messages)


def _prompts(bot_data: dict[Any, Any]) -> dict[tuple[int, int], Prompt]:
    prompts: dict[tuple[int, int], Prompt] = bot_data.setdefault("prompts", {})
    return prompts


async def ask(
    bot: Bot,
    bot_data: dict[Any, Any],
    chat_id: int,
    text: str,
    prompt: Prompt,
    *,
    force: bool = True,
) -> Message:
    """Send a question (ForceReply unless ``force`` is False) and remember what answers it."""
    markup = ForceReply(selective=True, input_field_placeholder="…") if force else None
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    remember(bot_data, chat_id, sent.message_id, prompt)
    return sent


def remember(bot_data: dict[Any, Any], chat_id: int, message_id: int, prompt: Prompt) -> None:
    """Take replies to an already sent message as answers to ``prompt``."""
    _prompts(bot_data)[(chat_id, message_id)] = prompt


def on_reply(ctx: BotContext) -> Callback:
    """Return the MessageHandler callback for replies to our prompts."""

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is None or msg.reply_to_message is None or update.effective_user is None:
            return
        key = (msg.chat.id, msg.reply_to_message.message_id)
        prompt = _prompts(ctx.bot_data).get(key)
        if prompt is None:
            if msg.reply_to_message.from_user and msg.reply_to_message.from_user.is_bot:
                await msg.reply_text("Questa domanda non è più attiva: premi di nuovo il pulsante.")
            return
        if prompt.user_id != update.effective_user.id:
            return  # someone else answering in a group: not theirs to answer
        if not prompt.keep:
            del _prompts(ctx.bot_data)[key]
        text = (msg.text or msg.caption or "").strip()
        if not text:
            await msg.reply_text("Serve un testo.")
            return
        await ANSWERS[prompt.kind](ctx, update, prompt, text)

    return reply


PREFIX_PATTERN = "^" + action_tokens.PREFIX
