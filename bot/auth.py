"""Authorisation first: a gate in front of every handler, and the checks each action repeats.

The gate runs before any other handler (group -1). A stranger (no active roles) gets one polite
refusal naming their Telegram id, so an admin can add them, and an audit line; nothing else
runs. A forwarded message is never taken as a command or an answer: the person who forwarded
it did not write it. Every handler then checks the role its own action needs, against the
store, at the moment of the action (a role removed a minute ago no longer works).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.context import BotContext, Callback
from store import bot_users
from store.bot_users import Role, has_role, support_level
from store.clock import utcnow

log = logging.getLogger(__name__)

REFUSAL = (
    "Mi dispiace, non sei autorizzato a usare questo bot. "
    "Se pensi sia un errore, comunica all'amministratore il tuo id Telegram: {id}."
)
FORWARDED = "Non eseguo messaggi inoltrati: scrivi tu il comando o la risposta."


def _action(update: Update) -> str:
    if update.callback_query is not None:
        return "button"
    msg = update.effective_message
    text = (msg.text or msg.caption or "") if msg is not None else ""
    return text.split()[0][:64] if text.startswith("/") else "message"


async def audit(
    ctx: BotContext,
    update: Update,
    outcome: str,
    *,
    action: str | None = None,
    object_ref: str | None = None,
    detail: str = "",
) -> None:
    """Write an audit line about ``update``'s sender."""
    user, chat = update.effective_user, update.effective_chat
    async with ctx.sessions() as session, session.begin():
        await bot_users.audit(
            session,
            telegram_id=user.id if user else None,
            chat_id=chat.id if chat else None,
            action=action or _action(update),
            outcome=outcome,
            object_ref=object_ref,
            detail=detail,
            now=utcnow(),
        )


async def roles(ctx: BotContext, user_id: int) -> frozenset[str]:
    """Return the user's roles as the store has them now."""
    async with ctx.sessions() as session:
        return await bot_users.roles_of(session, user_id)


def gate(ctx: BotContext) -> Callback:
    """Return the group -1 callback: refuse strangers and forwarded messages, let others on."""

    async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None or user.is_bot:
            raise ApplicationHandlerStop  # channel posts, other bots: not for us
        try:
            held = await roles(ctx, user.id)
        except Exception as exc:
            # Fail closed: PTB runs later handler groups even when an earlier one raises, so
            # an error here must stop the update, not let it through unchecked.
            await context.application.process_error(update, exc)
            raise ApplicationHandlerStop from None
        if not held:
            await audit(ctx, update, "refused", detail="unknown user")
            log.info("refused unknown Telegram user %d", user.id)
            if update.callback_query is not None:
                await update.callback_query.answer(REFUSAL.format(id=user.id), show_alert=True)
            elif (
                update.effective_message is not None
                and update.effective_chat is not None
                and update.effective_chat.type == "private"  # never chat back into groups
            ):
                await update.effective_message.reply_text(REFUSAL.format(id=user.id))
            raise ApplicationHandlerStop
        msg = update.message
        if msg is not None and msg.forward_origin is not None:
            await audit(ctx, update, "ignored", detail="forwarded message")
            await msg.reply_text(FORWARDED)
            raise ApplicationHandlerStop

    return check


def may(held: frozenset[str], role: Role) -> bool:
    """Tell whether ``held`` grants ``role``."""
    return has_role(held, role)


def may_work(held: frozenset[str], ticket_level: int) -> bool:
    """Tell whether a support person may act on a ticket at ``ticket_level`` (own level or
    below: an L1 cannot work an escalated ticket, an L3 can work any)."""
    return support_level(held) >= ticket_level
