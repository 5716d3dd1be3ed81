"""Read a PEC transport envelope once, for every route to look at (facts, not re-parsing)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.formats.pec import MalformedPec, parse_pec
from handlers.mail import MailFacts
from handlers.sdi_mail import read_sdi_delivery
from handlers.work import Work


@dataclass(frozen=True, slots=True)
class MalformedEnvelope:
    """A message that claims to be PEC (X-Trasporto) but cannot be read as such."""

    reason: str


def read_envelope(work: Work) -> Work:
    """Add `PecMessage` and `SdiDelivery` facts to a transport envelope (or why it is broken)."""
    mail = work.fact(MailFacts)
    if mail is None or not mail.x_trasporto:
        return work
    try:
        pec = parse_pec(work.raw)
    except MalformedPec as exc:
        return work.with_facts(MalformedEnvelope(str(exc)))
    delivery = read_sdi_delivery(pec)
    return work.with_facts(pec) if delivery is None else work.with_facts(pec, delivery)
