"""The per-recipient delivery state machine: states only move forward.

Delivery reports are at-least-once and may arrive out of order (chatops doc B.3), so an event
is applied only if it moves the row forward in `RANK`; a terminal state never changes. The
state names are the values stored in ``campaign_delivery.state`` (store/models_messaging.py,
checked equal by a test since store and handlers may not import each other).
"""

from __future__ import annotations

from typing import Final

QUEUED: Final = "queued"
FAILED_TEMPORARY: Final = "failed-temporary"
SUBMITTED: Final = "submitted"
ACCEPTED: Final = "accepted"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
SUPPRESSED: Final = "suppressed"
CANCELLED: Final = "cancelled"

STATES: Final = (
    QUEUED,
    SUBMITTED,
    ACCEPTED,
    DELIVERED,
    FAILED_TEMPORARY,
    FAILED,
    SUPPRESSED,
    CANCELLED,
)
RANK: Final = {QUEUED: 0, FAILED_TEMPORARY: 1, SUBMITTED: 2, ACCEPTED: 3}
TERMINAL: Final = frozenset({DELIVERED, FAILED, SUPPRESSED, CANCELLED})
# States in which nothing has left us yet: cancel and suppress may only act on these.
NOT_SENT: Final = frozenset({QUEUED, FAILED_TEMPORARY})


def advance(current: str, new: str) -> str | None:
    """Return the state after event ``new`` hits a row in ``current``, or None to ignore it."""
    if new not in STATES:
        raise ValueError(f"unknown delivery state {new!r}")
    if current in TERMINAL or new == current:
        return None
    if new in (CANCELLED, SUPPRESSED):
        return new if current in NOT_SENT else None
    if new in TERMINAL:  # delivered or failed: final whenever it comes
        return new
    return new if RANK[new] > RANK[current] else None


def is_success(state: str) -> bool:
    """Tell whether the row's message left us and was taken by the next hop."""
    return state in (SUBMITTED, ACCEPTED, DELIVERED)
