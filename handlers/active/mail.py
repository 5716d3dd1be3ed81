"""The PEC message that carries one invoice file to SdI, and the ops alert e-mail.

One invoice file per message, attached with its exact name as ``application/octet-stream``
base64 (the safest form, domain.md §4.1); the subject is the file name (SdI ignores subject and
body). The Message-ID is fixed here, before the first attempt, so PEC receipts find the
transmission again (§4.2 correlation).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

#: Whole PEC message limit (§4.1); the base64 attachment grows the file by about 4/3.
MAX_MESSAGE_BYTES = 30 * 1024 * 1024
#: SdI's limit for one invoice file (00003).
MAX_FILE_BYTES = 5 * 1024 * 1024


class TooLarge(ValueError):
    """The file or the message would break SdI's or PEC's size limits."""


def sdi_message(*, file_name: str, content: bytes, sender: str, to: str, message_id: str,
                date: datetime) -> bytes:
    """The RFC 5322 bytes of the message that submits ``file_name`` to SdI at ``to``."""
    if len(content) > MAX_FILE_BYTES:
        raise TooLarge(f"{file_name}: {len(content)} bytes, SdI accepts 5 MB per file (00003)")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = file_name
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg.set_content(f"Invio file {file_name} al Sistema di Interscambio.\n")
    msg.add_attachment(content, maintype="application", subtype="octet-stream",
                       filename=file_name)
    raw = msg.as_bytes()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise TooLarge(f"{file_name}: the PEC message would be {len(raw)} bytes (30 MB limit)")
    return raw


def alert_message(*, sender: str, to: str, subject: str, body: str, message_id: str,
                  date: datetime) -> bytes:
    """A plain e-mail for the ops channel."""
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()
