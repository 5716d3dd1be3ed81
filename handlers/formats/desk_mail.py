"""Build the mail the support desk sends a requester (a question or a solution), as final bytes.

The subject carries ``[#N]`` and the mail threads on the requester's own messages
(In-Reply-To / References), so their answer comes back to the same ticket. ``Auto-Submitted``
is not set: these are written by a person, and the requester's auto-responder may answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


def desk_message_id(ticket_id: int, event_id: int, domain: str) -> str:
    """Return the fixed Message-ID of the mail carrying ``event_id`` (retries reuse it)."""
    return f"<desk.{ticket_id}.{event_id}@{domain}>"


def build_desk_mail(
    *,
    sender: str,
    recipient: str,
    ticket_id: int,
    subject: str,
    body: str,
    message_id: str,
    references: Sequence[str],
    date: datetime,
) -> bytes:
    """Return the RFC 5322 bytes of one desk mail."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    tag = f"[#{ticket_id}]"
    msg["Subject"] = subject if tag in subject else f"{tag} {subject}"
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if references:
        msg["In-Reply-To"] = references[-1]
        msg["References"] = " ".join(references[-20:])  # long threads: the newest are enough
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)
