"""The requester's side of the support desk: ``/ticket`` (area, description, attachments),
``/mytickets``, ``/history N``, and replies that thread into a ticket.

Also how the desk talks back to a requester who wrote by e-mail: the question or solution
becomes an outbox row (rendered by the pure desk-mail codec) in the same transaction as the
ticket change. The bot never calls a channel.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.auth import audit, roles
from bot.buttons import Prompt, answer, ask, issue, remember, verb
from bot.context import BotContext, Callback
from bot.render import history_text, ticket_line
from handlers.formats.desk_mail import build_desk_mail, desk_message_id
from store import outbox, tickets
from store.action_tokens import Button, Redeemed
from store.bot_users import support_level
from store.clock import utcnow
from store.tickets import Area, Change, NewTicket, TicketError

AREA_LABELS = {
    Area.ACTIVE: "Fatturazione attiva",
    Area.PASSIVE: "Fatturazione passiva",
    Area.MESSAGING: "Invii massivi",
    Area.ARCHIVE: "Conservazione",
    Area.OTHER: "Altro",
}
CONFIRM = (
    "Ticket #{id} aperto. Rispondi a questo messaggio per aggiungere informazioni o allegati; "
    "/mytickets per seguirlo."
)


def attachments_of(msg: Message) -> tuple[dict[str, object], ...]:
    """Return what the message carries as attachments (Telegram file ids, not the bytes)."""
    found: list[dict[str, object]] = []
    if msg.document is not None:
        found.append(
            {"telegram_file_id": msg.document.file_id, "filename": msg.document.file_name or "file"}
        )
    if msg.photo:
        found.append({"telegram_file_id": msg.photo[-1].file_id, "filename": "photo.jpg"})
    return tuple(found)


def ticket_cmd(ctx: BotContext) -> Callback:
    """/ticket: choose the area with buttons, then describe the problem."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        chat = update.effective_message.chat
        if chat.type != "private":
            await update.effective_message.reply_text("Apri i ticket in chat privata con me.")
            return
        buttons = [Button(label, "new-ticket", "area", area) for area, label in AREA_LABELS.items()]
        markup = await issue(
            ctx, buttons, chat_id=chat.id, user_id=update.effective_user.id, per_row=2
        )
        await update.effective_message.reply_text("Di che area si tratta?", reply_markup=markup)

    return start


@verb("new-ticket")
async def chose_area(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """The area is chosen: ask for the description."""
    query = update.callback_query
    assert query is not None and query.message is not None and got.arg is not None
    label = AREA_LABELS.get(Area(got.arg), got.arg)
    await query.edit_message_text(f"Area: {label}")
    await ask(
        query.get_bot(),
        ctx.bot_data,
        query.message.chat.id,
        "Descrivi il problema (puoi allegare un file con una didascalia).",
        Prompt("ticket-description", f"area:{got.arg}", query.from_user.id),
    )


@answer("ticket-description")
async def described(ctx: BotContext, update: Update, prompt: Prompt, text: str) -> None:
    """Open the ticket, confirm it, and take replies to the confirmation as ticket messages."""
    msg, user = update.message, update.effective_user
    assert msg is not None and user is not None
    area = prompt.object_ref.split(":", 1)[1]
    new = NewTicket(
        origin="telegram",
        subject=text.splitlines()[0][:120],
        description=text,
        area=area,
        requester_id=user.id,
        requester_name=user.full_name,
        attachments=attachments_of(msg),
    )
    async with ctx.sessions() as session, session.begin():
        change = await tickets.open_ticket(session, new, actor=f"tg:{user.id}", now=utcnow())
    ctx.feed_wake.set()
    sent = await msg.reply_text(CONFIRM.format(id=change.ticket.id))
    remember(
        ctx.bot_data,
        sent.chat.id,
        sent.message_id,
        Prompt("ticket-message", f"ticket:{change.ticket.id}", user.id, keep=True),
    )


@answer("ticket-message")
async def customer_wrote(ctx: BotContext, update: Update, prompt: Prompt, text: str) -> None:
    """A requester's reply: add it to the ticket (it reopens a resolved one)."""
    msg, user = update.message, update.effective_user
    assert msg is not None and user is not None
    ticket_id = int(prompt.object_ref.split(":", 1)[1])
    try:
        async with ctx.sessions() as session, session.begin():
            await tickets.customer_message(
                session,
                ticket_id,
                actor=f"tg:{user.id}",
                body=text,
                attachments=attachments_of(msg),
                now=utcnow(),
            )
    except TicketError:
        await msg.reply_text(f"Il ticket #{ticket_id} è chiuso: aprine uno nuovo con /ticket.")
        return
    ctx.feed_wake.set()
    await msg.reply_text(f"Aggiunto al ticket #{ticket_id}.")


def mytickets_cmd(ctx: BotContext) -> Callback:
    """/mytickets: the requester's tickets, newest first."""

    async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        async with ctx.sessions() as session:
            rows = await tickets.listing(
                session,
                statuses=list(tickets.Status),
                requester_id=update.effective_user.id,
                limit=100,
            )
        lines = [ticket_line(t) for t in reversed(rows[-15:])] or ["Nessun ticket."]
        await update.effective_message.reply_text("\n".join(lines))

    return mine


def history_cmd(ctx: BotContext) -> Callback:
    """/history N: the ticket's story (internal notes only for support staff)."""

    async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, user = update.effective_message, update.effective_user
        assert msg is not None and user is not None
        if not context.args or not context.args[0].lstrip("#").isdigit():
            await msg.reply_text("Uso: /history <numero ticket>")
            return
        ticket_id = int(context.args[0].lstrip("#"))
        staff = support_level(await roles(ctx, user.id)) > 0
        async with ctx.sessions() as session:
            ticket = await tickets.get(session, ticket_id)
            mine = ticket is not None and ticket.requester_id == user.id
            events = (
                await tickets.history(session, ticket_id, internal=staff) if (staff or mine) else []
            )
        if ticket is None or not (staff or mine):
            await audit(ctx, update, "refused", object_ref=f"ticket:{ticket_id}")
            await msg.reply_text(f"Ticket #{ticket_id} non trovato.")
            return
        await msg.reply_text(history_text(ticket, events))

    return history


async def mail_requester(ctx: BotContext, session: AsyncSession, change: Change) -> None:
    """Queue the mail that tells an e-mail requester about a public event (question, solution)."""
    ticket, event = change.ticket, change.event
    opts = ctx.options
    if ticket.origin != "email" or not ticket.requester_email:
        return
    if not (opts.support_address and opts.mail_channel):
        raise TicketError("no support mail channel configured: cannot write to the requester")
    domain = opts.support_address.rsplit("@", 1)[-1]
    message_id = desk_message_id(ticket.id, event.id, domain)
    refs = await tickets.thread_ids(session, ticket.id)
    now = utcnow()
    payload = build_desk_mail(
        sender=opts.support_address,
        recipient=ticket.requester_email,
        ticket_id=ticket.id,
        subject=f"Re: {ticket.subject}",
        body=event.body,
        message_id=message_id,
        references=refs,
        date=now,
    )
    await outbox.enqueue(
        session,
        outbox.NewOutgoing(
            channel=opts.mail_channel,
            payload=payload,
            recipients=(ticket.requester_email,),
            idempotency_key=f"desk:{ticket.id}:{event.id}",
            sender=opts.support_address,
            message_id=message_id,
            subject_ref=f"ticket:{ticket.id}",
        ),
        now=now,
    )
    await tickets.set_message_id(session, event.id, message_id)
