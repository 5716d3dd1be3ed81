"""Read the SdI message a transport envelope carries, and ask to record it against its invoice.

Shared by both cycles: RC NS MC NE AT are about invoices we sent; SE is about an EC we sent for
an invoice we received; DT goes to both parties. The effect names the file (``NomeFile``, then
``IdentificativoSdI``, then ``PecMessageId``, never the subject: domain.md §3.4) and appliers of
each cycle decide whether it is theirs (``daemon/appliers``); one nobody takes is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.formats.pec import PecMessage
from handlers.formats.sdi import (
    MalformedSdiMessage,
    SdiMessage,
    UnknownSdiMessage,
    parse_sdi_message,
)
from handlers.formats.xmlsafe import MalformedXml, UnsafeXml
from handlers.registry import handler
from handlers.sdi_mail import SdiDelivery
from handlers.work import Disposition, Effect, Stop, Work


@dataclass(frozen=True, slots=True)
class SdiNotification:
    """One SdI message as received: the parsed message, its file and how it came."""

    message: SdiMessage
    file_name: str  # e.g. IT01234567890_11111_RC_001.xml
    content: bytes  # the file exactly as received (archived with the invoice)
    sdi_address: str | None  # the sdiNN@pec.fatturapa.it that sent it (next address to use)
    pec_identificativo: str | None  # the provider id of the envelope
    received_at: datetime | None  # when the provider certified it (daticert), if known


@dataclass(frozen=True, slots=True)
class RecordSdiNotification(Effect):
    """Record ``notification`` against the invoice file it is about."""

    notification: SdiNotification

    @property
    def unmatched_reason(self) -> str:
        """Why an item is held when no cycle knows the file."""
        m = self.notification.message
        nome = getattr(m, "nome_file", None)
        return (
            f"SdI {m.type.value} {self.notification.file_name} is about a file pecora does not "
            f"know (NomeFile {nome or '-'}, IdentificativoSdI {m.identificativo_sdi})"
        )


@handler("read-sdi-notification")
def read_sdi_notification(work: Work) -> Work | Stop:
    """Parse the SdI message file of the envelope (leniently, as real ones need: §3.2)."""
    delivery = work.require(SdiDelivery)
    pec = work.require(PecMessage)
    att = delivery.notification
    if att is None:
        raise LookupError("sdi-notification route without a notification file")
    try:
        message = parse_sdi_message(att.content)
    except (MalformedSdiMessage, UnknownSdiMessage, MalformedXml, UnsafeXml) as exc:
        return work.stop(Disposition.QUARANTINE, f"unreadable SdI message {att.filename}: {exc}")
    cert = pec.daticert
    return work.with_facts(
        SdiNotification(
            message=message,
            file_name=att.filename,
            content=att.content,
            sdi_address=pec.mittente,
            pec_identificativo=cert.identificativo if cert else pec.message_id,
            received_at=cert.data if cert else pec.date,
        )
    )


@handler("record-sdi-notification")
def record_sdi_notification(work: Work) -> Work | Stop:
    """Ask the cycles' appliers to record the notification."""
    return work.with_effects(RecordSdiNotification(work.require(SdiNotification)))
