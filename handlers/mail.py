"""Read a raw message once into `MailFacts`, or say why it cannot be read (`Unreadable`).

Everything later in a pipeline looks at these facts, never at the raw bytes again. The checks
here are the ones that make a message unusable whatever it claims to be: oversize, NUL bytes,
headers broken by bare CR/LF (header injection), no headers, no body.
"""

from __future__ import annotations

import email
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from handlers.formats.mime_raw import LENIENT_POLICY
from handlers.work import Work


@dataclass(frozen=True, slots=True)
class MailFacts:
    """The headers pecora routes on, verbatim, and the header section parsed (no body)."""

    message_id: str | None
    sender: str | None
    subject: str | None
    content_type: str
    x_ricevuta: str | None
    x_trasporto: str | None
    x_riferimento_message_id: str | None
    defects: tuple[str, ...]
    message: Message


@dataclass(frozen=True, slots=True)
class TooLarge:
    """The message is over the configured size policy; it is kept but not parsed."""

    size: int
    limit: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The message cannot be processed as mail, and why."""

    reason: str


def _header(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else str(value).strip()


def _header_problem(raw: bytes) -> str | None:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, _ = raw.partition(b"\n\n")
    if not sep:
        return "no blank line between header and body (no body)"
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if b"\r" in head.replace(b"\r\n", b""):
        return "bare CR in the header section (possible header injection)"
    first = lines[0]
    if not first or first[:1] in (b" ", b"\t") or b":" not in first:
        return "the message does not start with a header field"
    for line in lines:
        if line and line[:1] not in (b" ", b"\t") and b":" not in line:
            return f"malformed header line {line[:60]!r} (possible header injection)"
    return None


def _body(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        _head, found, body = raw.partition(sep)
        if found:
            return body
    return b""


def full_message(raw: bytes) -> Message:
    """Parse the whole message (parts and bodies), for the pipelines that read them."""
    return email.message_from_bytes(raw, policy=LENIENT_POLICY)


def read_mail(raw: bytes) -> MailFacts | Unreadable:
    """Parse ``raw`` into `MailFacts`, or return why it is unreadable."""
    if not raw.strip():
        return Unreadable("empty message")
    if b"\x00" in raw:
        return Unreadable("message contains NUL bytes (not valid RFC 5322 mail)")
    problem = _header_problem(raw)
    if problem is not None:
        return Unreadable(problem)
    # Routing needs the headers only: parsing the whole MIME tree here cost more than a third
    # of an SdI envelope's processing, and the pipelines that need the parts parse them once
    # themselves (`parse_pec`, `full_message`).
    msg = BytesHeaderParser(policy=LENIENT_POLICY).parsebytes(raw)
    if not msg.keys():
        return Unreadable("no header fields")
    body = _body(raw)
    if not body.strip():
        return Unreadable("message has no body")
    boundary = msg.get_boundary()
    if msg.get_content_maintype() == "multipart" and (
        not boundary or b"--" + boundary.encode("ascii", "replace") not in body
    ):
        return Unreadable("multipart message without parts")
    return MailFacts(
        message_id=_header(msg, "Message-ID"),
        sender=_header(msg, "From"),
        subject=_header(msg, "Subject"),
        content_type=msg.get_content_type(),
        x_ricevuta=_header(msg, "X-Ricevuta"),
        x_trasporto=_header(msg, "X-Trasporto"),
        x_riferimento_message_id=_header(msg, "X-Riferimento-Message-ID"),
        defects=tuple(type(d).__name__ for d in msg.defects),
        message=msg,
    )


def prepare(work: Work, *, max_bytes: int) -> Work:
    """Add the facts every route needs: `TooLarge`, `Unreadable` or `MailFacts` (and, for a
    transport envelope, what it carries)."""
    if len(work.raw) > max_bytes:
        return work.with_facts(TooLarge(size=len(work.raw), limit=max_bytes))
    from handlers.envelope import read_envelope  # envelope reading builds on MailFacts

    return read_envelope(work.with_facts(read_mail(work.raw)))
