"""Operator commands: ``/status`` (queues, mailboxes, last errors) and ``/quarantine`` with a
Requeue button per item. Operators (and admins) only; every press is checked again."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update
from telegram.ext import ContextTypes

from bot.auth import audit, may, roles
from bot.buttons import issue, verb
from bot.context import BotContext, Callback
from store import campaign_reports, campaigns, inbox, mailboxes, outbox
from store.action_tokens import Button, Redeemed
from store.bot_users import Role
from store.clock import utcnow
from store.models import InboxState, OutboxState

HELD = (InboxState.QUARANTINED, InboxState.SHUNTED, InboxState.BAD)
DENIED = "Questo comando è per gli operatori."


async def _operator(ctx: BotContext, update: Update) -> bool:
    user = update.effective_user
    assert user is not None
    if may(await roles(ctx, user.id), Role.OPERATOR):
        return True
    await audit(ctx, update, "refused", detail="operator role needed")
    if update.effective_message is not None:
        await update.effective_message.reply_text(DENIED)
    return False


def status_cmd(ctx: BotContext) -> Callback:
    """/status: inbox and outbox depths, running campaigns' progress, mailbox errors, the
    newest held items."""

    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await _operator(ctx, update):
            return
        async with ctx.sessions() as session:
            ind = await inbox.depths(session)
            outd = await outbox.depths(session)
            boxes = await mailboxes.all_positions(session)
            held = await inbox.listing(session, states=HELD, limit=3)
            failed = await outbox.listing(session, states=[OutboxState.FAILED], limit=3)
            active = await campaigns.running(session)
            progress = [(c, await campaign_reports.counts(session, c.id)) for c in active[:5]]
        lines = ["Stato pecora", "Inbox: " + _counts(ind), "Outbox: " + _counts(outd)]
        for campaign, per_channel in progress:  # mass messaging in progress
            done = "; ".join(
                f"{ch} " + ", ".join(f"{st} {n}" for st, n in sorted(states.items()) if n)
                for ch, states in sorted(per_channel.items())
            )
            lines.append(f"Campagna {campaign.name}: {done or 'in preparazione'}")
        for box in boxes:
            err = f" errore: {box.last_error}" if box.last_error else " ok"
            lines.append(f"Casella {box.mailbox}: uid {box.last_uid}{err}")
        for item in held:
            lines.append(f"Inbox #{item.id} {item.state}: {(item.reason or '')[:120]}")
        for row in failed:
            lines.append(f"Outbox #{row.id} {row.channel} fallito: {(row.last_error or '')[:120]}")
        assert update.effective_message is not None
        await update.effective_message.reply_text("\n".join(lines))

    return status


def _counts(depths: Mapping[InboxState, int] | Mapping[OutboxState, int]) -> str:
    return ", ".join(f"{getattr(k, 'value', k)!s} {v}" for k, v in depths.items() if v) or "vuota"


def quarantine_cmd(ctx: BotContext) -> Callback:
    """/quarantine: held inbox items, each with its own Requeue button (for this operator)."""

    async def quarantine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await _operator(ctx, update):
            return
        assert update.effective_message is not None and update.effective_user is not None
        async with ctx.sessions() as session:
            held = await inbox.listing(session, states=HELD, limit=10)
        if not held:
            await update.effective_message.reply_text("Nessun messaggio in quarantena.")
            return
        for item in held:
            markup = await issue(
                ctx,
                [Button("Rimetti in coda", "requeue", f"inbox:{item.id}")],
                chat_id=update.effective_message.chat.id,
                user_id=update.effective_user.id,
            )
            await update.effective_message.reply_text(
                f"Inbox #{item.id} ({item.state}, route {item.route or '-'}): "
                f"{(item.reason or '')[:300]}",
                reply_markup=markup,
            )

    return quarantine


@verb("requeue")
async def requeue(ctx: BotContext, update: Update, got: Redeemed) -> None:
    """Put the item back in the inbox queue (the operator role is checked again)."""
    query = update.callback_query
    assert query is not None
    if not may(await roles(ctx, query.from_user.id), Role.OPERATOR):
        await query.edit_message_text("Non più autorizzato.")
        return
    item_id = int(got.object_ref.split(":", 1)[1])
    async with ctx.sessions() as session, session.begin():
        done = await inbox.requeue(session, item_id, now=utcnow())
    who = query.from_user.full_name
    text = (
        f"Inbox #{item_id}: rimesso in coda da {who}."
        if done
        else f"Inbox #{item_id}: non è più in quarantena."
    )
    await query.edit_message_text(text)
