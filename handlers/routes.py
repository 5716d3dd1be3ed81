"""Routing: an ordered table of (predicate, route) and the pipeline each route runs.

The whole flow fits on one screen (Mailman's chains/builtin.py and pipelines/builtin.py). The
first predicate that holds picks the route; ``any`` must come last so nothing is unrouted.
"""

from __future__ import annotations

from handlers import active, desk, passive, pec_receipts, quarantine  # noqa: F401  (registers steps)
from handlers.envelope import MalformedEnvelope
from handlers.formats.pec import PecKind, PecMessage
from handlers.mail import MailFacts, TooLarge, Unreadable
from handlers.registry import HANDLERS, PREDICATES, predicate
from handlers.sdi_mail import SdiDelivery
from handlers.work import Work


@predicate("too-large")
def _too_large(work: Work) -> bool:
    return work.fact(TooLarge) is not None


@predicate("unreadable")
def _unreadable(work: Work) -> bool:
    return work.fact(Unreadable) is not None


@predicate("pec-receipt")
def _pec_receipt(work: Work) -> bool:
    mail = work.fact(MailFacts)
    return bool(mail and mail.x_ricevuta)


@predicate("pec-malformed")
def _pec_malformed(work: Work) -> bool:
    return work.fact(MalformedEnvelope) is not None


@predicate("pec-anomaly")
def _pec_anomaly(work: Work) -> bool:
    pec = work.fact(PecMessage)
    return pec is not None and pec.kind is PecKind.ANOMALIA


@predicate("sdi-invoice")
def _sdi_invoice(work: Work) -> bool:
    delivery = work.fact(SdiDelivery)
    return delivery is not None and bool(delivery.invoices or delivery.metadata)


@predicate("sdi-notification")
def _sdi_notification(work: Work) -> bool:
    delivery = work.fact(SdiDelivery)
    return delivery is not None and delivery.notification is not None


@predicate("pec-transport")
def _pec_transport(work: Work) -> bool:
    mail = work.fact(MailFacts)
    return bool(mail and mail.x_trasporto)


@predicate("any")
def _any(work: Work) -> bool:
    return True


ROUTES: tuple[tuple[str, str], ...] = (
    ("too-large", "oversize"),
    ("unreadable", "unreadable"),
    ("pec-receipt", "pec-receipt"),
    ("pec-malformed", "pec-malformed"),
    ("pec-anomaly", "pec-anomaly"),
    ("sdi-invoice", "sdi-invoice"),
    ("sdi-notification", "sdi-notification"),
    ("pec-transport", "pec-transport"),
    ("support-mail", "support-mail"),
    ("any", "unknown"),
)

PIPELINES: dict[str, tuple[str, ...]] = {
    "oversize": ("quarantine-oversize",),
    "unreadable": ("quarantine-unreadable",),
    "pec-receipt": ("read-pec-receipt", "record-pec-receipt"),
    "pec-malformed": ("quarantine-malformed-envelope",),
    # Anomaly envelopes wrap non-certified mail that entered the PEC box: never SdI (§4.2).
    "pec-anomaly": ("quarantine-anomaly",),
    # Certified mail that carries no SdI file: a person has to look at it.
    "pec-transport": ("hold-for-operator",),
    "unknown": ("hold-for-operator",),
    **active.PIPELINES,  # sdi-notification
    **passive.PIPELINES,  # sdi-invoice
    **desk.PIPELINES,  # support-mail
}


def check(
    routes: tuple[tuple[str, str], ...] = ROUTES,
    pipelines: dict[str, tuple[str, ...]] = PIPELINES,
) -> None:
    """Validate the tables at startup: every name known, ``any`` last, no dead pipeline."""
    problems = []
    for pred, route in routes:
        if pred not in PREDICATES:
            problems.append(f"route {route!r}: unknown predicate {pred!r}")
        if route not in pipelines:
            problems.append(f"route {route!r}: no pipeline")
    if not routes or routes[-1][0] != "any":
        problems.append("the last route must use the 'any' predicate")
    for name, steps in pipelines.items():
        problems.extend(
            f"pipeline {name!r}: unknown handler {step!r}" for step in steps if step not in HANDLERS
        )
        if name not in {route for _, route in routes}:
            problems.append(f"pipeline {name!r} is not reachable from any route")
    if problems:
        raise ValueError("invalid routing tables:\n  " + "\n  ".join(problems))


def route(work: Work, routes: tuple[tuple[str, str], ...] = ROUTES) -> str:
    """Return the name of the first route whose predicate holds for ``work``."""
    for pred, name in routes:
        if PREDICATES[pred](work):
            return name
    raise LookupError("no route matched: the routing table lacks its final 'any' entry")
