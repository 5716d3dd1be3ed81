"""Support mail: recognise mail for the support desk, read it once, and ask to file it.

A mail to the support address becomes a ticket, or a message on the ticket it answers: the
applier threads it by In-Reply-To/References (our replies carry their own Message-IDs), or by
the ``[#N]`` subject tag when the sender is that ticket's requester. Auto-replies and our own
mail coming back are dropped here, before they can open tickets that answer each other forever
(RFC 3834 ``Auto-Submitted``; ``Precedence: bulk`` and friends from older responders).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr

from handlers.mail import MailFacts, full_message
from handlers.registry import handler, predicate
from handlers.work import Disposition, Effect, Stop, Work

MAX_BODY = 20_000  # characters kept from a body: the rest is in the archived original
_TAG = re.compile(r"\[#(\d{1,9})\]")
_QUOTE_START = re.compile(
    r"^(>|-{2,} ?Original Message|On .{0,200} wrote:|Il .{0,200} ha scritto:)", re.IGNORECASE
)
_ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass(frozen=True, slots=True)
class SupportDesk:
    """Configuration fact (injected by the inbox runner): where support mail arrives.

    ``address`` is the support address; ``mailbox`` the IMAP alias that only receives support
    mail (optional: with it, everything in that mailbox is support mail).
    """

    address: str
    mailbox: str | None = None


@dataclass(frozen=True, slots=True)
class SupportAttachment:
    """A file the requester attached."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SupportMail:
    """A support mail, read."""

    sender: str
    sender_name: str
    subject: str
    body: str
    message_id: str | None
    refs: tuple[str, ...]  # In-Reply-To first, then References newest first
    ticket_hint: int | None
    attachments: tuple[SupportAttachment, ...]


@dataclass(frozen=True, slots=True)
class FileSupportMail(Effect):
    """Open a ticket from the mail, or add it to the ticket it answers."""

    mail: SupportMail


def _addresses(msg: Message) -> set[str]:
    values = [str(v) for name in _ADDRESS_HEADERS for v in msg.get_all(name, [])]
    return {addr.lower() for _, addr in getaddresses(values) if addr}


@predicate("support-mail")
def _support_mail(work: Work) -> bool:
    desk, mail = work.fact(SupportDesk), work.fact(MailFacts)
    if desk is None or mail is None or mail.x_trasporto or mail.x_ricevuta:
        return False  # certified mail has routes of its own
    if desk.mailbox is not None and work.mailbox == desk.mailbox:
        return True
    return desk.address.lower() in _addresses(mail.message)


def _is_automatic(msg: Message) -> str | None:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name) is not None:
            return name
    return None


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _text(msg: Message) -> str:
    part = msg
    if msg.is_multipart():
        found = next(
            (
                p
                for p in msg.walk()
                if p.get_content_type() == "text/plain" and not p.get_filename()
            ),
            None,
        )
        if found is None:
            return ""
        part = found
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def strip_quoted(text: str) -> str:
    """Cut a reply at the quoted original, so the ticket history shows what is new."""
    lines = text.replace("\r\n", "\n").split("\n")
    keep = []
    for line in lines:
        if _QUOTE_START.match(line.strip()):
            break
        keep.append(line)
    return "\n".join(keep).strip()[:MAX_BODY]


def _attachments(msg: Message) -> tuple[SupportAttachment, ...]:
    found = []
    for part in msg.walk():
        name = part.get_filename()
        if not name or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            found.append(SupportAttachment(name[:200], part.get_content_type(), data))
    return tuple(found)


@handler("read-support-mail")
def read_support_mail(work: Work) -> Work | Stop:
    """Read sender, subject, new text, thread ids and attachments; drop automatic mail."""
    desk, mail = work.require(SupportDesk), work.require(MailFacts)
    msg = full_message(work.raw)  # the routing facts hold the headers only
    name, sender = parseaddr(mail.sender or "")
    if not sender or "@" not in sender:
        return work.stop(Disposition.QUARANTINE, "support mail without a usable From address")
    if sender.lower() == desk.address.lower():
        return work.stop(Disposition.DONE, "our own support mail came back: ignored")
    if (why := _is_automatic(msg)) is not None:
        return work.stop(Disposition.DONE, f"automatic reply ignored ({why})")
    subject = mail.subject or ""
    tag = _TAG.search(subject)
    refs = _ids(str(msg.get("In-Reply-To", ""))) + list(
        reversed(_ids(str(msg.get("References", ""))))
    )
    return work.with_facts(
        SupportMail(
            sender=sender.lower(),
            sender_name=name,
            subject=subject.strip(),
            body=strip_quoted(_text(msg)),
            message_id=mail.message_id,
            refs=tuple(dict.fromkeys(refs)),
            ticket_hint=int(tag.group(1)) if tag else None,
            attachments=_attachments(msg),
        )
    )


@handler("file-support-mail")
def file_support_mail(work: Work) -> Work | Stop:
    """Ask the runner to file the mail as a ticket or a reply."""
    return work.with_effects(FileSupportMail(work.require(SupportMail)))
