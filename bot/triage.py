"""The staff side of the desk: the triage card in the staff group and what its buttons do
(take, assign, area, priority, ask the customer, note, escalate L1 -> L2 -> L3, resolve,
close, reopen), plus ``/queue``.

Card buttons are bound to the staff chat and to "any support level"; each press re-checks the
presser's level against the ticket's (an L1 cannot work an escalated ticket). Every action is
one store use-case; the card is then redrawn with fresh tokens, so the old buttons are dead.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.auth import may_work, roles
from bot.buttons import Prompt, answer, ask, issue, verb
from bot.context import BotContext, Callback
from bot.desk import AREA_LABELS, mail_requester
from bot.render import card_text, ticket_line
from store import bot_users, tickets
from store.action_tokens import SUPPORT, Button, Redeemed
from store.bot_users import SUPPORT_ROLES, support_level
from store.clock import utcnow
from store.models_bot import Ticket
from store.tickets import PRIORITIES, Change, Status, TicketError

log = logging.getLogger(__name__)

PROMPTS = {
    "ask": "Domanda per il cliente (ticket #{id}):",
    "note": "Nota interna (ticket #{id}):",
    "resolve": "Soluzione da inviare al cliente (ticket #{id}):",
}


def _ref(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def _id(object_ref: str) -> int:
    return int(object_ref.split(":", 1)[1])


def _buttons(t: object, menu: str = "") -> list[Button]:
    assert isinstance(t, Ticket)
    ref = _ref(t.id)
    if menu == "area":
        return [Button(label, "set-area", ref, a) for a, label in AREA_LABELS.items()] + [
            Button("↩", "menu", ref)
        ]
    if menu == "priority":
        return [Button(p, "set-priority", ref, p) for p in PRIORITIES] + [Button("↩", "menu", ref)]
    if t.status in (Status.RESOLVED, Status.CLOSED):
        done = [Button("Riapri", "reopen", ref)]
        return done + ([Button("Chiudi", "close", ref)] if t.status == Status.RESOLVED else [])
    out = [
        Button("Prendo io", "take", ref),
        Button("Assegna", "assign-menu", ref),
        Button("Area", "menu", ref, "area"),
        Button("Priorità", "menu", ref, "priority"),
        Button("Chiedi al cliente", "prompt", ref, "ask"),
        Button("Nota", "prompt", ref, "note"),
        Button("Risolvi", "prompt", ref, "resolve"),
        Button("Chiudi", "close", ref),
    ]
    if t.level < tickets.MAX_LEVEL:
        out.insert(2, Button(f"Escala a L{t.level + 1}", "escalate", ref))
    return out


async def draw_card(
    ctx: BotContext, bot: Bot, ticket_id: int, *, menu: str = "", extra: list[Button] | None = None
) -> None:
    """Post the ticket's card to the staff group, or redraw it in place with fresh buttons."""
    chat = ctx.options.staff_chat_id
    if chat is None:
        return
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        t = await tickets.get(session, ticket_id)
        assert t is not None
        events = await tickets.history(session, ticket_id, internal=False)
        hist = (await tickets.status_history(session, [ticket_id]))[ticket_id]
        from store import action_tokens

        await action_tokens.retire(session, _ref(ticket_id), now=now)
    description = events[0].body if events else ""
    sla = ctx.sla_text(t, hist, now) if ctx.sla_text else ""
    markup = await issue(ctx, extra or _buttons(t, menu), chat_id=chat, role=SUPPORT)
    text = card_text(t, description, sla)
    if t.card_message_id is None or t.card_chat_id != chat:
        sent = await bot.send_message(chat, text, reply_markup=markup)
        async with ctx.sessions() as session, session.begin():
            await tickets.set_card(session, ticket_id, chat, sent.message_id)
        return
    try:
        await bot.edit_message_text(text, chat, t.card_message_id, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _staff_may(ctx: BotContext, update: Update, ticket_id: int) -> bool:
    """Re-check the presser's support level against the ticket's; on refusal, redraw the card
    (the press used up its tokens) and then say why."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    async with ctx.sessions() as session:
        t = await tickets.get(session, ticket_id)
    if t is not None and may_work(await roles(ctx, user.id), t.level):
        return True
    await draw_card(ctx, update.get_bot(), ticket_id)
    if chat is not None:
        level = t.level if t else "?"
        await update.get_bot().send_message(
            chat.id, f"Il ticket è a L{level}: non è di tua competenza."
        )
    return False


async def _act(ctx: BotContext, update: Update, change_fn: object, ticket_id: int) -> None:
    """Run a store use-case, tell an e-mail requester if needed, redraw the card."""
    bot = update.get_bot()
    chat = update.effective_chat
    try:
        async with ctx.sessions() as session, session.begin():
            change: Change = await change_fn(session)  # type: ignore[operator]
            if change.event.kind in ("question", "resolved"):
                await mail_requester(ctx, session, change)
    except TicketError as exc:
        if chat is not None:
            await bot.send_message(chat.id, str(exc))
        await draw_card(ctx, bot, ticket_id)
        return
    ctx.feed_wake.set()
    await draw_card(ctx, bot, ticket_id)


def _actor(update: Update) -> str:
    assert update.effective_user is not None
    return f"tg:{update.effective_user.id}"


@verb("take")
async def take(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Assign the ticket to whoever pressed."""
    tid, uid = _id(got.object_ref), update.effective_user.id  # type: ignore[union-attr]
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx,
            update,
            lambda s: tickets.assign(s, tid, uid, actor=_actor(update), now=utcnow()),
            tid,
        )


@verb("assign-menu")
async def assign_menu(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Offer the support people whose level can work this ticket."""
    tid = _id(got.object_ref)
    async with ctx.sessions() as session:
        t = await tickets.get(session, tid)
        people = [u for r in SUPPORT_ROLES for u in await bot_users.with_role(session, r)]
    assert t is not None
    seen: dict[int, str] = {}
    for u in people:
        if support_level(u.roles) >= t.level:
            seen[u.telegram_id] = u.name
    extra = [Button(name, "assign", got.object_ref, str(uid)) for uid, name in seen.items()]
    await draw_card(ctx, update.get_bot(), tid, extra=[*extra, Button("↩", "menu", got.object_ref)])


@verb("assign")
async def assign(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Give the ticket to the chosen person."""
    tid, who = _id(got.object_ref), int(got.arg or 0)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx,
            update,
            lambda s: tickets.assign(s, tid, who, actor=_actor(update), now=utcnow()),
            tid,
        )


@verb("menu")
async def menu(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Show a sub-menu (area, priority) or go back to the main card."""
    await draw_card(ctx, update.get_bot(), _id(got.object_ref), menu=got.arg or "")


@verb("set-area")
async def set_area(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Classify the ticket's area."""
    tid = _id(got.object_ref)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx,
            update,
            lambda s: tickets.classify(s, tid, area=got.arg, actor=_actor(update), now=utcnow()),
            tid,
        )


@verb("set-priority")
async def set_priority(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Set the ticket's priority (its SLA targets follow)."""
    tid = _id(got.object_ref)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx,
            update,
            lambda s: tickets.classify(
                s, tid, priority=got.arg, actor=_actor(update), now=utcnow()
            ),
            tid,
        )


@verb("escalate")
async def escalate(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Move the ticket to the next support level."""
    tid = _id(got.object_ref)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx, update, lambda s: tickets.escalate(s, tid, actor=_actor(update), now=utcnow()), tid
        )


@verb("close")
async def close(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Close the ticket."""
    tid = _id(got.object_ref)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx, update, lambda s: tickets.close(s, tid, actor=_actor(update), now=utcnow()), tid
        )


@verb("reopen")
async def reopen(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Reopen a resolved or closed ticket."""
    tid = _id(got.object_ref)
    if await _staff_may(ctx, update, tid):
        await _act(
            ctx, update, lambda s: tickets.reopen(s, tid, actor=_actor(update), now=utcnow()), tid
        )


@verb("prompt")
async def prompt(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Ask the presser for text (question, note, solution); the card gets fresh buttons."""
    tid = _id(got.object_ref)
    query = update.callback_query
    assert query is not None and query.message is not None and got.arg in PROMPTS
    if not await _staff_may(ctx, update, tid):
        return
    await draw_card(ctx, update.get_bot(), tid)
    await ask(
        update.get_bot(),
        ctx.bot_data,
        query.message.chat.id,
        PROMPTS[got.arg].format(id=tid),
        Prompt(got.arg, got.object_ref, query.from_user.id),
    )


async def _answered(ctx: BotContext, update: Update, p: Prompt, text: str) -> None:
    tid = _id(p.object_ref)
    if not await _staff_may(ctx, update, tid):
        return
    actor, now = _actor(update), utcnow()
    use_case = {
        "ask": lambda s: tickets.ask_customer(s, tid, text, actor=actor, now=now),
        "note": lambda s: tickets.note(s, tid, text, actor=actor, now=now),
        "resolve": lambda s: tickets.resolve(s, tid, text, actor=actor, now=now),
    }[p.kind]
    await _act(ctx, update, use_case, tid)


for _kind in PROMPTS:
    answer(_kind)(_answered)


def queue_cmd(ctx: BotContext) -> Callback:
    """/queue: active tickets this person's level can work, oldest first, with their SLA."""

    async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, user = update.effective_message, update.effective_user
        assert msg is not None and user is not None
        level = support_level(await roles(ctx, user.id))
        if level == 0:
            await msg.reply_text("Questo comando è per il supporto.")
            return
        now: datetime = utcnow()
        async with ctx.sessions() as session:
            rows = await tickets.listing(session, max_level=level)
            hist = await tickets.status_history(session, [t.id for t in rows])
        lines = []
        for t in rows:
            sla = ctx.sla_text(t, hist[t.id], now) if ctx.sla_text else ""
            lines.append(ticket_line(t) + (f" · {sla}" if sla else ""))
        await msg.reply_text("\n".join(lines) or "Coda vuota.")

    return queue
