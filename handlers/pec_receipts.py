"""Steps for PEC provider receipts: read the receipt, and ask to record it against our message.

The receipt names the message we sent by its Message-ID (``X-Riferimento-Message-ID``, and
``msgid`` in daticert.xml), which the outbox fixed before the first attempt: that is how a
receipt finds its outbox row (domain.md §4). Classification is by header, never by subject.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.formats.daticert import DaticertErrore
from handlers.formats.pec import MalformedPec, PecMessage, parse_pec
from handlers.registry import handler
from handlers.work import Disposition, Effect, Stop, Work


@dataclass(frozen=True, slots=True)
class RecordPecReceipt(Effect):
    """Store the receipt and link it to the outbox item it refers to, if any."""

    receipt_type: str
    ref_message_id: str | None
    recipient: str | None = None
    error: str | None = None


@handler("read-pec-receipt")
def read_pec_receipt(work: Work) -> Work | Stop:
    """Parse the receipt (headers and daticert.xml)."""
    try:
        pec = parse_pec(work.raw)
    except MalformedPec as exc:
        return work.stop(Disposition.QUARANTINE, f"malformed PEC receipt: {exc}")
    if not pec.kind.is_receipt:
        return work.stop(Disposition.QUARANTINE, f"not a PEC receipt: {pec.kind.value}")
    return work.with_facts(pec)


@handler("record-pec-receipt")
def record_pec_receipt(work: Work) -> Work | Stop:
    """Ask the runner to store the receipt against the message it refers to."""
    pec = work.require(PecMessage)
    cert = pec.daticert
    ref = pec.riferimento_message_id or (cert.msgid if cert else None)
    error = None
    if cert is not None and cert.errore is not DaticertErrore.NESSUNO:
        error = cert.errore.value + (f": {cert.errore_esteso}" if cert.errore_esteso else "")
    return work.with_effects(
        RecordPecReceipt(
            receipt_type=pec.kind.value,
            ref_message_id=ref,
            recipient=cert.consegna if cert else None,
            error=error,
        )
    )
