"""Build the final payload of one delivery: RFC 5322 bytes for e-mail and PEC, JSON for the
HTTP providers (SMS, fax, registered mail).

The outbox stores these bytes and sends them unchanged on every try (architecture convention
8), so everything that identifies the message, its Message-ID or idempotency key, is decided
here once, from the delivery's key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email import quoprimime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache

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
    # the domain of the address itself, also when the sender is written "Name <addr>"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "pecora.invalid"
    mid = message_id_for(key, domain)
    if attachment is None:
        return Built(
            _text_mail(channel, address, rendered, sender, mid, now, unsubscribe), mid, (address,)
        )
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mid
    if channel == "email" and unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg.set_content(rendered.body)
    maintype, subtype = attachment.content_type.split("/", 1)
    msg.add_attachment(
        attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
    )
    return Built(msg.as_bytes(), mid, (address,))


# The text-only message, the one a mass mailing sends thousands of times, written directly:
# EmailMessage parses every header through its registry and picks the body encoding on each
# call, which cost more than everything else pecora does per recipient (issue 8). The bytes
# are the ones EmailMessage writes (tests compare the two): headers the stdlib folds, cached
# per value (sender, subject, date and unsubscribe repeat for a whole page), and the body
# encoded by the same rules as `EmailMessage.set_content`.

_POLICY = email_policy.default  # EmailMessage's policy: "\n" line ends, 78-column lines
_MAX = _POLICY.max_line_length or 78
# Values whose header line the stdlib writes back unchanged (checked in the tests): a bare
# address and a Message-ID of the shape `message_id_for` makes, both plain ASCII.
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\Z")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>\Z")


@lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> bytes:
    """The header line EmailMessage writes (ValueError on CR or LF, as EmailMessage does)."""
    return _POLICY.fold_binary(name, _POLICY.header_store_parse(name, value)[1])


def _header(name: str, value: str, plain: re.Pattern[str]) -> bytes:
    if plain.match(value) and len(name) + 2 + len(value) <= _MAX:
        return f"{name}: {value}\n".encode("ascii")
    return _folded(name, value)


def _text_body(text: str) -> tuple[str, bytes]:
    """``text`` as utf-8 with EmailMessage's choice of transfer encoding: 7bit or 8bit when no
    line is too long, else quoted-printable or base64, whichever a sample finds shorter."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= _MAX:
        return ("7bit" if body.isascii() else "8bit"), body
    sample = b"\n".join(lines[:10]) + b"\n"
    sample_qp = quoprimime.body_encode(sample.decode("latin-1"), _MAX)
    if len(sample_qp) <= len(binascii.b2a_base64(sample)):
        if len(lines) <= 10:
            return "quoted-printable", sample_qp.encode("ascii")
        return "quoted-printable", quoprimime.body_encode(body.decode("latin-1"), _MAX).encode(
            "ascii"
        )
    step = _MAX // 4 * 3
    return "base64", b"".join(
        binascii.b2a_base64(body[i : i + step]) for i in range(0, len(body), step)
    )


def _text_mail(
    channel: str,
    address: str,
    rendered: Rendered,
    sender: str,
    mid: str,
    now: datetime,
    unsubscribe: str | None,
) -> bytes:
    cte, body = _text_body(rendered.body)
    head = [
        _folded("From", sender),
        _header("To", address, _BARE_ADDRESS),
        _folded("Subject", rendered.subject),
        _folded("Date", format_datetime(now)),
        _header("Message-ID", mid, _PLAIN_MESSAGE_ID),
    ]
    if channel == "email" and unsubscribe:
        # RFC 2369 / RFC 8058: mail clients show an unsubscribe button.
        head.append(_folded("List-Unsubscribe", f"<{unsubscribe}>"))
    head.append(
        b'Content-Type: text/plain; charset="utf-8"\n'
        + f"Content-Transfer-Encoding: {cte}\n".encode("ascii")
        + b"MIME-Version: 1.0\n\n"
    )
    return b"".join(head) + body
