"""Recognise what a PEC transport envelope from SdI carries: an SdI message, or an invoice + MT.

SdI sends everything as certified mail; what a message *is* shows only in the names of the
files attached to the certified original (postacert.eml), never in the subject (domain.md
§4.1). This reads the envelope once into `SdiDelivery` for the routes to look at.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.formats.filenames import (
    InvalidFileName,
    NotificationFileName,
    NotificationType,
    is_valid_invoice_file_name,
    parse_notification_file_name,
)
from handlers.formats.pec import PecAttachment, PecKind, PecMessage


@dataclass(frozen=True, slots=True)
class SdiDelivery:
    """The SdI files found in a transport envelope, by role."""

    notification: PecAttachment | None  # RC NS MC NE DT AT SE (EC only when we are SdI)
    notification_name: NotificationFileName | None
    metadata: PecAttachment | None  # the MT that comes with an invoice delivered to us
    invoices: tuple[PecAttachment, ...]  # invoice files (.xml, .xml.p7m) delivered to us


def _notification(att: PecAttachment) -> NotificationFileName | None:
    try:
        return parse_notification_file_name(att.filename)
    except InvalidFileName:
        return None


def read_sdi_delivery(pec: PecMessage) -> SdiDelivery | None:
    """Return the SdI files of a transport envelope, or None when it carries none."""
    if pec.kind is not PecKind.POSTA_CERTIFICATA or pec.postacert is None:
        return None
    notification = metadata = None
    notification_name = None
    invoices = []
    for att in pec.postacert.attachments:
        name = _notification(att)
        if name is not None and name.type is NotificationType.MT:
            metadata = att
        elif name is not None:
            notification, notification_name = att, name
        elif is_valid_invoice_file_name(att.filename):
            invoices.append(att)
    if notification is None and metadata is None and not invoices:
        return None
    return SdiDelivery(notification, notification_name, metadata, tuple(invoices))
