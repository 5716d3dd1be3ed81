"""Pure text for people: ticket lines, triage cards, histories (no I/O, easy to test)."""

from __future__ import annotations

from collections.abc import Sequence

from store.models_bot import Ticket, TicketEvent

KIND_LABELS = {
    "opened": "aperto",
    "customer-message": "messaggio del cliente",
    "assigned": "assegnato",
    "classified": "classificato",
    "question": "domanda al cliente",
    "escalated": "escalation",
    "note": "nota interna",
    "resolved": "risolto",
    "closed": "chiuso",
    "reopened": "riaperto",
    "sla-warning": "avviso SLA",
    "sla-breach": "SLA violato",
}
MAX_TEXT = 3900  # Telegram's limit is 4096 characters: leave room for a footer


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Cut ``text`` to ``limit`` characters, saying so."""
    return text if len(text) <= limit else text[: limit - 12] + " …(tagliato)"


def ticket_line(t: Ticket) -> str:
    """One line per ticket in a list."""
    return f"#{t.id} [L{t.level}] {t.status} · {t.priority} · {t.area} · {t.subject[:60]}"


def requester(t: Ticket) -> str:
    """Who asked, for staff."""
    if t.requester_email:
        return f"{t.requester_name or t.requester_email} <{t.requester_email}>"
    return f"{t.requester_name or 'utente'} (tg {t.requester_id})"


def card_text(t: Ticket, description: str, sla: str = "") -> str:
    """The staff group's triage card."""
    lines = [
        f"Ticket #{t.id} · L{t.level} · {t.status}",
        f"Area: {t.area} · Priorità: {t.priority}",
        f"Da: {requester(t)} via {t.origin}",
        f"Assegnato a: {t.assignee_id or '-'}",
    ]
    if sla:
        lines.append(f"SLA: {sla}")
    lines += ["", t.subject, "", clip(description, 1500)]
    return "\n".join(lines)


def history_text(t: Ticket, events: Sequence[TicketEvent]) -> str:
    """The ticket's story, one block per event."""
    out = [f"Ticket #{t.id}: {t.subject} ({t.status})"]
    for e in events:
        when = e.at.strftime("%Y-%m-%d %H:%M UTC")
        label = KIND_LABELS.get(e.kind, e.kind)
        body = f": {e.body[:300]}" if e.body else ""
        out.append(f"{when} · {label} · {e.actor}{body}")
    return clip("\n".join(out))
