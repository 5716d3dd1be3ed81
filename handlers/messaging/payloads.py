"""Build the final payload of one delivery: RFC 5322 bytes for e-mail and PEC, JSON for the
HTTP providers (SMS, fax, registered mail).

The outbox stores these bytes and sends them unchanged on every try (architecture convention
8), so everything that identifies the message, its Message-ID or idempotency key, is decided
here once, from the delivery's key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from handlers.messaging.templates import Rendered


class CannotSend(ValueError):
    """This recipient cannot get the message on this channel (the reason is reported)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """The campaign's one document (a PDF for fax and registered mail)."""

    name: str
    data: bytes
    content_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class Built:
    """A payload ready for the outbox."""

    payload: bytes
    message_id: str  # Message-ID for mail; the idempotency key for HTTP providers
    recipients: tuple[str, ...]


def message_id_for(key: str, domain: str) -> str:
    """The fixed Message-ID of a mail delivery (receipts name it)."""
    return f"<{key.replace(':', '.')}@{domain}>"


def build(
    channel: str,
    *,
    key: str,
    address: str,
    rendered: Rendered,
    sender: str | None,
    attachment: Attachment | None,
    postal: dict[str, str] | None,
    now: datetime,
    unsubscribe: str | None = None,
) -> Built:
    """Return the payload ``channel`` needs; raise `CannotSend` when it cannot be built."""
    if channel in ("email", "pec"):
        return _mail(channel, key, address, rendered, sender, attachment, now, unsubscribe)
    if channel == "sms":
        if not rendered.body.strip():
            raise CannotSend("sms: empty text")
        doc: dict[str, object] = {
            "to": address,
            "text": rendered.body.strip(),
            "from": sender or "pecora",
        }
        return _json(key, address, doc)
    if attachment is None or attachment.content_type != "application/pdf":
        raise CannotSend(f"{channel}: needs the campaign's PDF attachment")
    pdf = base64.b64encode(attachment.data).decode("ascii")
    if channel == "fax":
        return _json(key, address, {"to": address, "media_base64": pdf, "from": sender or ""})
    if channel == "registered-mail":
        if not postal:
            raise CannotSend("registered-mail: no postal address")
        letter: dict[str, object] = {
            # Openapi.it UfficioPostale's shape (chatops doc B.4): mittente, destinatari,
            # documento and opzioni; confirmation happens in a second call (autoconfirm off).
            "mittente": {"nome": sender or "pecora"},
            "destinatari": [postal],
            "documento": [pdf],
            "oggetto": rendered.subject,
            "opzioni": {"ar": True, "colori": False, "fronteretro": False, "autoconfirm": False},
        }
        return _json(key, address, letter)
    raise CannotSend(f"unknown channel {channel!r}")


def _json(key: str, address: str, doc: Mapping[str, object]) -> Built:
    full = {"reference": key, **doc}
    return Built(json.dumps(full, sort_keys=True).encode(), key, (address,))


def _mail(
    channel: str,
    key: str,
    address: str,
    rendered: Rendered,
    sender: str | None,
    attachment: Attachment | None,
    now: datetime,
    unsubscribe: str | None,
) -> Built:
    if not sender:
        raise CannotSend(f"{channel}: the campaign has no sender address")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    mid = message_id_for(key, sender.rsplit("@", 1)[-1])
    msg["Message-ID"] = mid
    if channel == "email" and unsubscribe:
        # RFC 2369 / RFC 8058: mail clients show an unsubscribe button.
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg.set_content(rendered.body)
    if attachment is not None:
        maintype, subtype = attachment.content_type.split("/", 1)
        msg.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return Built(msg.as_bytes(), mid, (address,))
