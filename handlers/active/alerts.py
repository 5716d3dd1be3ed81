"""Which alerts a transmitted file deserves now: the timers of domain.md §3.4 and bad outcomes.

Timers: no provider acceptance within minutes; no SdI answer within 5 days (§3.3: SdI answers
within 5 days with NS, RC or MC); a PA that sent neither NE nor DT about 16 days after the RC
(15-day window + a day of slack). Outcomes that need a person (refused by the provider, not
delivered to SdI, rejected by SdI, refused by the PA) alert at once. Each kind is raised once
per file: the store remembers what was raised, so a restart does not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.active.states import State


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the timers fire."""

    pec_acceptance: timedelta = timedelta(minutes=30)
    sdi_answer: timedelta = timedelta(days=5)
    pa_outcome: timedelta = timedelta(days=16)


@dataclass(frozen=True, slots=True)
class Watched:
    """What the timers look at for one transmission."""

    file_name: str
    numero: str
    state: State
    pa: bool
    created_at: datetime
    submitted_at: datetime | None
    pec_accepted_at: datetime | None
    answered_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a stable kind (raised once per file) and a message for people."""

    kind: str
    message: str


_OUTCOMES = {
    State.PEC_REFUSED: "refused by our PEC provider (non-accettazione): fix and resend",
    State.PEC_DELIVERY_FAILED: "not delivered to SdI (errore-consegna): resend",
    State.PEC_DELAYED: "SdI's mailbox has not taken it for 12 hours (preavviso)",
    State.SDI_REJECTED: "rejected by SdI (NS): see `pecora invoice show`, then resend",
    State.REFUSED: "refused by the PA (NE EC02): a credit note and a new invoice are usual",
    State.ATTESTED: "PA unreachable (AT): deliver the invoice by other means",
}
_WAITING_FOR_SDI = frozenset({
    State.QUEUED, State.PEC_SUBMITTED, State.PEC_ACCEPTED, State.PEC_DELIVERED,
    State.PEC_DELAYED,
})


def due(w: Watched, now: datetime, t: Thresholds) -> list[Alert]:
    """Alerts ``w`` deserves at ``now`` (the caller drops kinds already raised)."""
    head = f"invoice {w.numero} ({w.file_name})"
    out = []
    if w.state in _OUTCOMES:
        out.append(Alert(f"state:{w.state.value}", f"{head}: {_OUTCOMES[w.state]}"))
    sent = w.submitted_at or w.created_at
    if w.state in (State.QUEUED, State.PEC_SUBMITTED) and now - sent > t.pec_acceptance:
        out.append(Alert("no-pec-acceptance",
                         f"{head}: no acceptance from our PEC provider after {now - sent}"))
    if w.state in _WAITING_FOR_SDI and w.answered_at is None and now - sent > t.sdi_answer:
        out.append(Alert("no-sdi-answer",
                         f"{head}: no answer from SdI (RC/NS/MC) after {(now - sent).days} days"))
    if (w.pa and w.state is State.AWAITING_OUTCOME and w.delivered_at is not None
            and now - w.delivered_at > t.pa_outcome):
        days = (now - w.delivered_at).days
        out.append(Alert("no-pa-outcome",
                         f"{head}: the PA sent neither NE nor DT {days} days after delivery"))
    return out
