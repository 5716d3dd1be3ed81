"""Supplier invoices before the approvers: the card, Accept / Refuse, the decision written on it.

A card is the PDF rendering of the invoice file, captioned with a summary, posted to the
approvers chat with two buttons bound to the approver role, that chat and the invoice (one
card: pressing one retires both). Accept runs ``store.passive.accept`` at once; Refuse asks for
the reason with a ForceReply and runs ``store.passive.refuse`` on the answer (for a PA file the
use-case queues the EC to SdI through the outbox). The card is then edited to show the
decision, who took it and when. A decision the use-case refuses (taken meanwhile from the CLI,
a reason too long for SdI) is explained, never half-applied.
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest

from bot.auth import roles
from bot.buttons import Prompt, answer, ask, issue, verb
from bot.context import BotContext
from bot.render import clip
from handlers.formats import fatturapa, p7m
from handlers.formats.render import render_pdf
from store import action_tokens, bot_feed, bot_users, passive, passive_queries
from store.action_tokens import Button, Redeemed
from store.bot_users import Role, has_role
from store.clock import utcnow
from store.models_passive import ReceivedFile, ReceivedInvoice, ReviewState

log = logging.getLogger(__name__)

CAPTION = 1024  # Telegram's caption limit
ACCEPT, REFUSE = "passive:accept", "passive:refuse"
DECIDED = {ReviewState.ACCEPTED: "✅ Accettata", ReviewState.REFUSED: "❌ Rifiutata"}


def _ref(invoice_id: int) -> str:
    return f"passive:{invoice_id}"


def _id(object_ref: str) -> int:
    return int(object_ref.removeprefix("passive:"))


def _when(ctx: BotContext, at: datetime) -> str:
    return at.astimezone(ZoneInfo(ctx.invoices.timezone)).strftime("%d/%m/%Y %H:%M")


def _money(value: object, divisa: str) -> str:
    return f"{value} {divisa}" if value is not None else "n/d"


def summary(ctx: BotContext, inv: ReceivedInvoice, file: ReceivedFile, due: object) -> str:
    """The card's caption: supplier, number, date, total, due date, EC deadline for a PA."""
    lines = [
        f"📥 Fattura passiva #{inv.id}",
        f"Fornitore: {inv.seller_name} ({inv.seller_country}{inv.seller_code})",
        f"{inv.tipo_documento} n. {inv.numero} del {inv.data.strftime('%d/%m/%Y')}",
        f"Totale: {_money(inv.importo_totale, inv.divisa)}",
        f"Scadenza pagamento: {due.strftime('%d/%m/%Y') if due else 'n/d'}",  # type: ignore[attr-defined]
    ]
    if file.ec_required and file.deadline is not None:
        lines.append(f"PA: esito (EC) entro {_when(ctx, file.deadline)}")
    elif not file.ec_required:
        lines.append("B2B: decisione solo interna (SdI non prevede esito)")
    if file.signature not in ("valid", "unsigned") or file.hash_check == "mismatch":
        lines.append(f"⚠️ firma {file.signature}, hash {file.hash_check}")
    return "\n".join(lines)


async def keyboard(ctx: BotContext, invoice_id: int) -> InlineKeyboardMarkup | None:
    """Fresh Accept / Refuse buttons for the approvers (None when decisions are not wired)."""
    if ctx.invoices.policy is None:
        return None
    ref = _ref(invoice_id)
    buttons = [Button("✅ Accetta", ACCEPT, ref), Button("❌ Rifiuta", REFUSE, ref)]
    return await issue(ctx, buttons, chat_id=ctx.options.approvers_chat_id,
                       role=Role.APPROVER.value, per_row=2)


async def pdf_of(ctx: BotContext, file: ReceivedFile) -> bytes | None:
    """The invoice file rendered as PDF, or None (no archive access, unreadable file)."""
    if ctx.invoices.fetch is None:
        return None
    try:
        content = await ctx.invoices.fetch(file.file_sha256)
    except Exception as exc:  # a missing archive object must not hold the card back
        log.warning("bot: invoice file %s not readable: %s", file.file_name, exc)
        return None

    def render() -> bytes:
        raw = content if content.lstrip()[:1] == b"<" else p7m.unwrap(content).content
        return render_pdf(fatturapa.parse(raw))

    try:
        # CPU work off the loop: PTB's polling and the daemon's runners share it.
        return await asyncio.to_thread(render)
    except Exception as exc:
        log.warning("bot: could not render %s: %s", file.file_name, exc)
        return None


async def post_card(ctx: BotContext, bot: Bot, new: bot_feed.NewPassive) -> None:
    """Post one approval card and record where it is."""
    chat = ctx.options.approvers_chat_id
    assert chat is not None
    inv, file = new.invoice, new.file
    text = summary(ctx, inv, file, new.due)
    markup = await keyboard(ctx, inv.id)
    pdf = await pdf_of(ctx, file)
    if pdf is not None:
        name = file.file_name.split(".")[0] + (f"_{inv.position}" if inv.position > 1 else "")
        sent = await bot.send_document(chat, pdf, filename=f"{name}.pdf",
                                       caption=clip(text, CAPTION), reply_markup=markup)
    else:
        sent = await bot.send_message(chat, text + "\n(PDF non disponibile)",
                                      reply_markup=markup)
    async with ctx.sessions() as session, session.begin():
        await bot_feed.mark(session, bot_feed.PASSIVE, inv.id, now=utcnow(), chat_id=chat,
                            message_id=sent.message_id)


async def _write_on_card(ctx: BotContext, bot: Bot, invoice_id: int, footer: str,
                         markup: InlineKeyboardMarkup | None = None) -> None:
    """Rewrite the card: summary, then ``footer`` (the decision), with ``markup`` or none."""
    for _ in range(50):
        async with ctx.sessions() as session:
            card = await bot_feed.get_mark(session, bot_feed.PASSIVE, invoice_id)
            d = await passive_queries.detail(session, invoice_id)
            dues = await bot_feed.due_dates(session, [invoice_id])
        if card is not None and card.message_id is not None:
            break
        # `post_card` records where the card is right after Telegram answered the send: a
        # press that quick finds no mark yet, so wait for it (bounded) rather than skip.
        await asyncio.sleep(0.05)
    if card is None or card.chat_id is None or card.message_id is None or d is None:
        return
    text = summary(ctx, d.invoice, d.file, dues.get(invoice_id)) + "\n\n" + footer
    try:
        await bot.edit_message_caption(card.chat_id, int(card.message_id),
                                       caption=clip(text, CAPTION), reply_markup=markup)
    except BadRequest as exc:
        if "no caption" not in str(exc).lower():
            raise
        await bot.edit_message_text(clip(text), card.chat_id, int(card.message_id),
                                    reply_markup=markup)


async def _who(ctx: BotContext, user_id: int) -> str:
    async with ctx.sessions() as session:
        user = await bot_users.get(session, user_id)
    return html.unescape(user.name) if user is not None else f"tg {user_id}"


async def _decide(ctx: BotContext, bot: Bot, user_id: int, chat_id: int, invoice_id: int,
                  reason: str | None) -> None:
    """Run the use-case and write the outcome on the card (or say why it did not happen)."""
    policy = ctx.invoices.policy
    if policy is None:
        await bot.send_message(chat_id, "Le decisioni dal bot non sono configurate.")
        return
    now = utcnow()
    try:
        async with ctx.sessions() as session, session.begin():
            if reason is None:
                result = await passive.accept(session, invoice_id, actor=f"tg:{user_id}",
                                              now=now, policy=policy)
            else:
                result = await passive.refuse(session, invoice_id, actor=f"tg:{user_id}",
                                              reason=reason, now=now, policy=policy)
    except passive.AlreadyDecided as exc:
        await _show_state(ctx, bot, invoice_id)
        await bot.send_message(chat_id, f"Fattura #{invoice_id}: già decisa ({exc}).")
        return
    except passive.DecisionError as exc:
        # Not authorised by [passive] deciders, a reason SdI would refuse: the card stays open.
        await _write_on_card(ctx, bot, invoice_id, f"⚠️ {exc}", await keyboard(ctx, invoice_id))
        await bot.send_message(chat_id, f"Fattura #{invoice_id}: decisione non presa: {exc}")
        return
    who = await _who(ctx, user_id)
    footer = f"{DECIDED[result.state]} da {who} il {_when(ctx, now)}"
    if reason:
        footer += f"\nMotivo: {reason}"
    footer += f"\n{result.message}"
    await _write_on_card(ctx, bot, invoice_id, footer)


async def _show_state(ctx: BotContext, bot: Bot, invoice_id: int) -> None:
    """Write the invoice's current decision on its card (decided elsewhere)."""
    async with ctx.sessions() as session:
        d = await passive_queries.detail(session, invoice_id)
    if d is None or not d.decisions:
        return
    last = d.decisions[-1]
    footer = f"{DECIDED.get(last.decision, last.decision)} da {last.actor} il {_when(ctx, last.at)}"
    await _write_on_card(ctx, bot, invoice_id, footer + (f"\n{last.note}" if last.note else ""))


def _where(update: Update) -> tuple[int, int]:
    query = update.callback_query
    assert query is not None and query.message is not None
    return query.message.chat.id, query.message.message_id


@verb(ACCEPT)
async def accept_pressed(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Accept: decide now."""
    assert update.callback_query is not None
    chat, _ = _where(update)
    await _decide(ctx, update.get_bot(), update.callback_query.from_user.id, chat,
                  _id(got.object_ref), None)


@verb(REFUSE)
async def refuse_pressed(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Refuse: ask for the reason; the card gets fresh buttons meanwhile (an unanswered
    question must not leave the invoice without a way to decide)."""
    assert update.callback_query is not None
    user = update.callback_query.from_user
    chat, message = _where(update)
    invoice_id = _id(got.object_ref)
    bot = update.get_bot()
    markup = await keyboard(ctx, invoice_id)
    await bot.edit_message_reply_markup(chat, message, reply_markup=markup)
    prompt = Prompt("passive-refuse", got.object_ref, user.id, chat, message)
    await ask(bot, ctx.bot_data, chat,
              f"{user.first_name}, motivo del rifiuto della fattura #{invoice_id}? "
              f"(max {passive.MAX_REASON} caratteri, va a SdI per la PA)", prompt)


@answer("passive-refuse")
async def refuse_reason(ctx: BotContext, update: Update, prompt: Prompt, text: str) -> None:
    """The reason arrived: re-check the role (time has passed since the press) and refuse."""
    msg = update.effective_message
    assert msg is not None
    if not has_role(await roles(ctx, prompt.user_id), Role.APPROVER):
        await msg.reply_text("Non sei più tra gli approvatori.")
        return
    # Retire the card's live buttons first: the refusal is being taken.
    async with ctx.sessions() as session, session.begin():
        await action_tokens.retire(session, prompt.object_ref, now=utcnow())
    await _decide(ctx, update.get_bot(), prompt.user_id, msg.chat.id, _id(prompt.object_ref),
                  text)


async def remind(ctx: BotContext, bot: Bot, due: bot_feed.DueReminder) -> None:
    """Remind the approvers of a PA invoice whose EC deadline is near (in reply to its card)."""
    chat = ctx.options.approvers_chat_id
    assert chat is not None and due.file.deadline is not None
    inv = due.invoice
    text = (f"⏰ Fattura #{inv.id} di {inv.seller_name} (n. {inv.numero}) ancora da decidere: "
            f"l'esito per la PA va inviato entro {_when(ctx, due.file.deadline)}.")
    card = due.card.message_id if due.card is not None else None
    # allow_sending_without_reply: the card may have been deleted from the chat by hand.
    reply = ReplyParameters(int(card), allow_sending_without_reply=True) if card else None
    await bot.send_message(chat, text, reply_parameters=reply)
