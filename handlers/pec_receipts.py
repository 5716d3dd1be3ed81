"""Steps for PEC provider receipts: read the receipt, and ask to record it against our message.

The reference Message-ID (``X-Riferimento-Message-ID``) names the message we sent, whose
Message-ID the outbox fixed before the first attempt; that is how a receipt finds its outbox
row (domain.md §4). Classification is by header, never by subject.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.mail import MailFacts
from handlers.registry import handler
from handlers.work import Disposition, Effect, Stop, Work

#: Receipt types a PEC provider may send (DPR 68/2005 and DM 2/11/2005), verbatim.
RECEIPT_TYPES = frozenset(
    {
        "accettazione",
        "non-accettazione",
        "presa-in-carico",
        "avvenuta-consegna",
        "errore-consegna",
        "preavviso-errore-consegna",
        "rilevazione-virus",
    }
)


@dataclass(frozen=True, slots=True)
class PecReceiptFact:
    """A provider receipt as read from its headers."""

    receipt_type: str
    ref_message_id: str | None


@dataclass(frozen=True, slots=True)
class RecordPecReceipt(Effect):
    """Store the receipt and link it to the outbox item it refers to, if any."""

    receipt_type: str
    ref_message_id: str | None
    recipient: str | None = None
    error: str | None = None


@handler("read-pec-receipt")
def read_pec_receipt(work: Work) -> Work | Stop:
    """Read the receipt type and the Message-ID it refers to."""
    mail = work.require(MailFacts)
    kind = (mail.x_ricevuta or "").lower()
    if kind not in RECEIPT_TYPES:
        return work.stop(Disposition.QUARANTINE, f"unknown PEC receipt type {mail.x_ricevuta!r}")
    return work.with_facts(PecReceiptFact(kind, mail.x_riferimento_message_id))


@handler("record-pec-receipt")
def record_pec_receipt(work: Work) -> Work | Stop:
    """Ask the runner to store the receipt against the message it refers to."""
    fact = work.require(PecReceiptFact)
    return work.with_effects(RecordPecReceipt(fact.receipt_type, fact.ref_message_id))
