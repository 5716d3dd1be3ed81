"""The outgoing-invoice state machine of domain.md §3.4, as one pure function (`advance`).

Events are PEC receipts about our message (accettazione, non-accettazione, avvenuta-consegna,
errore-consegna, preavviso) and SdI messages about our file (NS, RC, MC, NE, DT, AT). The
machine is *monotonic*: an event either moves the file forward or is recorded without a change,
so duplicates and out-of-order arrivals are harmless (an MC after an RC changes nothing: the MC
text itself says to ignore it, §3.4). SdI events may overtake PEC receipts, so a receipt never
moves a file SdI has already answered for.

One refinement of §3.4: ``preavviso-errore-consegna`` (12 h without delivery, §4.2) moves to
``pec-delayed``, not to a failure: delivery may still happen, the final errore-consegna follows.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """Same values as ``store.models_active.InvoiceState``."""

    DRAFT = "draft"
    QUEUED = "queued"
    PEC_SUBMITTED = "pec-submitted"
    PEC_ACCEPTED = "pec-accepted"
    PEC_REFUSED = "pec-refused"
    PEC_DELIVERED = "pec-delivered"
    PEC_DELAYED = "pec-delayed"
    PEC_DELIVERY_FAILED = "pec-delivery-failed"
    SDI_REJECTED = "sdi-rejected"
    DELIVERED = "delivered"
    AWAITING_OUTCOME = "awaiting-outcome"
    NOT_DELIVERED_AVAILABLE = "not-delivered-available"
    DELIVERY_PENDING = "delivery-pending"
    ATTESTED = "attested"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    TERMS_EXPIRED = "terms-expired"


class Event(enum.StrEnum):
    """What can happen to a transmitted file."""

    SUBMITTED = "submitted"  # the outbox handed it to the provider (SMTP accepted)
    SUBMIT_FAILED = "submit-failed"  # the outbox gave up (provider refused at SMTP)
    ACCETTAZIONE = "accettazione"
    NON_ACCETTAZIONE = "non-accettazione"
    AVVENUTA_CONSEGNA = "avvenuta-consegna"
    ERRORE_CONSEGNA = "errore-consegna"
    PREAVVISO = "preavviso-errore-consegna"
    NS = "NS"
    # An NS whose only error is 00002 (file name already received) answers a second copy of
    # a file SdI already has — after a resend at a crash. It says nothing about the file
    # itself, whose own answer (RC, NS, MC) comes or came separately: recorded, never a move.
    NS_DUPLICATE_NAME = "NS-00002"
    RC = "RC"
    MC = "MC"
    NE_EC01 = "NE-EC01"
    NE_EC02 = "NE-EC02"
    DT = "DT"
    AT = "AT"


#: Before SdI said anything: only PEC-level facts are known.
PEC_LEVEL = frozenset({
    State.QUEUED, State.PEC_SUBMITTED, State.PEC_ACCEPTED, State.PEC_DELIVERED,
    State.PEC_DELAYED, State.PEC_DELIVERY_FAILED, State.PEC_REFUSED,
})
#: Nothing more will happen to the file (§3.4 "terminal").
TERMINAL = frozenset({
    State.SDI_REJECTED, State.DELIVERED, State.NOT_DELIVERED_AVAILABLE, State.ATTESTED,
    State.ACCEPTED, State.REFUSED, State.TERMS_EXPIRED,
})
#: The file must be sent again (fixed, or simply re-submitted).
NEEDS_RESEND = frozenset({State.PEC_REFUSED, State.PEC_DELIVERY_FAILED, State.SDI_REJECTED})
#: SdI accepted the file: the invoice is issued and only a credit note corrects it (§1.5).
ISSUED = frozenset({
    State.DELIVERED, State.AWAITING_OUTCOME, State.NOT_DELIVERED_AVAILABLE,
    State.DELIVERY_PENDING, State.ATTESTED, State.ACCEPTED, State.REFUSED, State.TERMS_EXPIRED,
})

# Order of the PEC-level states: a receipt only moves forward (a late accettazione after the
# avvenuta-consegna changes nothing).
_PEC_RANK = {
    State.QUEUED: 0, State.PEC_SUBMITTED: 1, State.PEC_ACCEPTED: 2, State.PEC_DELAYED: 3,
    State.PEC_DELIVERED: 4,
}
_PEC_TARGET = {
    Event.SUBMITTED: State.PEC_SUBMITTED,
    Event.ACCETTAZIONE: State.PEC_ACCEPTED,
    Event.PREAVVISO: State.PEC_DELAYED,
    Event.AVVENUTA_CONSEGNA: State.PEC_DELIVERED,
}


def _pec(state: State, event: Event) -> State | None:
    if state not in PEC_LEVEL:
        return None  # SdI has answered: its word wins over any receipt (§3.4)
    if event in (Event.NON_ACCETTAZIONE, Event.SUBMIT_FAILED):
        # Refused by our own provider: only before it accepted the message.
        ok = state in (State.QUEUED, State.PEC_SUBMITTED)
        return State.PEC_REFUSED if ok else None
    if event is Event.ERRORE_CONSEGNA:
        return State.PEC_DELIVERY_FAILED if state is not State.PEC_REFUSED else None
    target = _PEC_TARGET[event]
    if state in (State.PEC_REFUSED, State.PEC_DELIVERY_FAILED):
        # A delivery receipt after a failure notice wins (the failure was about a copy that
        # got through later); anything else does not resurrect the message.
        return target if event is Event.AVVENUTA_CONSEGNA else None
    return target if _PEC_RANK[target] > _PEC_RANK[state] else None


def _sdi(state: State, event: Event, pa: bool) -> State | None:
    fresh = state in PEC_LEVEL  # SdI's first answer about this file
    if event is Event.NS_DUPLICATE_NAME:
        return None
    if event is Event.NS:
        return State.SDI_REJECTED if fresh else None
    if event is Event.RC:
        if fresh or state in (State.DELIVERY_PENDING, State.NOT_DELIVERED_AVAILABLE):
            # PA: RC starts the 15-day window for the PA's outcome (§3.3).
            return State.AWAITING_OUTCOME if pa else State.DELIVERED
        return None  # e.g. a duplicated RC
    if event is Event.MC:
        if not fresh:
            return None  # an MC after an RC changes nothing (§3.4)
        return State.DELIVERY_PENDING if pa else State.NOT_DELIVERED_AVAILABLE
    if event in (Event.NE_EC01, Event.NE_EC02):
        if not (fresh or state in (State.AWAITING_OUTCOME, State.DELIVERY_PENDING)):
            return None
        return State.ACCEPTED if event is Event.NE_EC01 else State.REFUSED
    if event is Event.DT:
        ok = fresh or state in (State.AWAITING_OUTCOME, State.DELIVERY_PENDING)
        return State.TERMS_EXPIRED if ok else None
    if event is Event.AT:
        return State.ATTESTED if (fresh or state is State.DELIVERY_PENDING) else None
    raise ValueError(f"not an SdI event: {event}")


def advance(state: State, event: Event, *, pa: bool) -> State | None:
    """Return the state ``event`` moves a file in ``state`` to, or None (recorded, no change).

    ``pa`` says the file is FPA12 (the PA flow: MC waits for RC or AT, RC waits for NE/DT).
    """
    if event in _PEC_TARGET or event in (
        Event.NON_ACCETTAZIONE, Event.SUBMIT_FAILED, Event.ERRORE_CONSEGNA
    ):
        return _pec(state, event)
    return _sdi(state, event, pa)


def pec_event(receipt_type: str) -> Event | None:
    """The event of an ``X-Ricevuta`` value, or None for receipts that move nothing
    (presa-in-carico is between providers; rilevazione-virus is followed by its own notice)."""
    try:
        event = Event(receipt_type)
    except ValueError:
        return None
    return event if event in (
        Event.ACCETTAZIONE, Event.NON_ACCETTAZIONE, Event.AVVENUTA_CONSEGNA,
        Event.ERRORE_CONSEGNA, Event.PREAVVISO,
    ) else None
