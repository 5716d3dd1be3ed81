"""Our invoices' outcomes for the operators who asked: ``/subscribe``, the notices, ``/invoices``.

A notice goes to every subscriber (in private) for each state an invoice reaches that people
act on: delivered, rejected by SdI (with SdI's error list and what to do, as the applier
recorded them on the event), not delivered, accepted or refused by the PA, terms expired, and
the PEC-level failures. The invoice store does not record which operator issued an invoice, so
"the invoices they sent" are the company's invoices: every subscriber hears every outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.auth import roles
from bot.context import BotContext, Callback
from bot.render import clip
from store import bot_feed, invoices
from store.bot_users import Role, has_role
from store.clock import utcnow

log = logging.getLogger(__name__)

STATE_LABELS = {
    "draft": "bozza",
    "queued": "in coda",
    "pec-submitted": "inviata alla PEC",
    "pec-accepted": "accettata dalla PEC",
    "pec-refused": "❌ rifiutata dal provider PEC",
    "pec-delivered": "consegnata a SdI",
    "pec-delayed": "consegna PEC in ritardo",
    "pec-delivery-failed": "❌ consegna PEC fallita",
    "sdi-rejected": "❌ scartata da SdI",
    "delivered": "✅ consegnata al cliente",
    "awaiting-outcome": "✅ consegnata alla PA, in attesa di esito",
    "not-delivered-available": "⚠️ non consegnata: disponibile nell'area riservata",
    "delivery-pending": "⚠️ non consegnata alla PA: SdI riprova",
    "attested": "📎 attestazione di trasmissione (PA non raggiungibile)",
    "accepted": "✅ accettata dalla PA",
    "refused": "❌ rifiutata dalla PA",
    "terms-expired": "⌛ decorrenza termini (nessun esito dalla PA)",
}


def label(state: str) -> str:
    """A state in words."""
    return STATE_LABELS.get(state, state)


def notice_text(o: bot_feed.Outcome) -> str:
    """One outcome, with SdI's errors and suggestions when it is a rejection."""
    inv, e = o.invoice, o.event
    lines = [
        f"📤 Fattura {inv.numero} del {inv.data.strftime('%d/%m/%Y')} "
        f"a {bot_feed.party_name(o.customer)} ({inv.total} {inv.divisa})",
        f"Stato: {label(e.to_state or '')} [{e.kind}]",
    ]
    data: dict[str, Any] = e.data or {}
    errors = data.get("errors") or []
    if errors:
        lines.append("Errori SdI:")
        for err in errors[:20]:
            lines.append(f"• {err.get('code', '?')} {err.get('description', '')}".rstrip())
            if err.get("suggestion"):
                lines.append(f"  → {err['suggestion']}")
        if len(errors) > 20:
            lines.append(f"… e altri {len(errors) - 20}")
    elif e.detail:
        lines.append(e.detail[:500])
    return clip("\n".join(lines))


async def announce(ctx: BotContext, bot: Bot, o: bot_feed.Outcome) -> None:
    """Send one outcome to every subscriber still holding the operator role."""
    async with ctx.sessions() as session:
        people = await bot_feed.subscribers(session)
    text = notice_text(o)
    for person in people:
        if not has_role(await roles(ctx, person), Role.OPERATOR):
            continue  # the role was withdrawn after subscribing
        try:
            await bot.send_message(person, text)
        except Forbidden:  # they blocked the bot: the others still hear
            log.info("bot: subscriber %d unreachable", person)


def _operator_only(ctx: BotContext, run: Callback) -> Callback:
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, msg = update.effective_user, update.effective_message
        assert user is not None and msg is not None
        if not has_role(await roles(ctx, user.id), Role.OPERATOR):
            await msg.reply_text("Questo comando è per gli operatori.")
            return
        await run(update, context)

    return guarded


def subscribe_cmd(ctx: BotContext) -> Callback:
    """/subscribe: get the outcomes of our invoices in private."""

    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, msg = update.effective_user, update.effective_message
        assert user is not None and msg is not None
        async with ctx.sessions() as session, session.begin():
            await bot_feed.subscribe(session, user.id, now=utcnow())
        await msg.reply_text("Riceverai in privato gli esiti delle fatture emesse. "
                             "/unsubscribe per smettere.")

    return _operator_only(ctx, run)


def unsubscribe_cmd(ctx: BotContext) -> Callback:
    """/unsubscribe: stop the outcome notices."""

    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, msg = update.effective_user, update.effective_message
        assert user is not None and msg is not None
        async with ctx.sessions() as session, session.begin():
            was = await bot_feed.unsubscribe(session, user.id)
        await msg.reply_text("Notifiche degli esiti disattivate." if was
                             else "Non eri iscritto.")

    return _operator_only(ctx, run)


def invoices_cmd(ctx: BotContext) -> Callback:
    """/invoices [n]: the latest invoices we issued and their states."""

    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        assert msg is not None
        args = context.args or []
        limit = min(int(args[0]), 50) if args and args[0].isdigit() else 15
        async with ctx.sessions() as session:
            rows = await invoices.listing(session, limit=limit)
        if not rows:
            await msg.reply_text("Nessuna fattura emessa.")
            return
        lines = [f"Ultime {len(rows)} fatture emesse:"]
        for r in rows:
            inv = r.invoice
            lines.append(f"#{inv.id} {inv.numero} del {inv.data.strftime('%d/%m/%Y')} · "
                         f"{bot_feed.party_name(r.customer)[:40]} · {inv.total} · "
                         f"{label(inv.state.value)}")
        await msg.reply_text(clip("\n".join(lines)))

    return _operator_only(ctx, run)
