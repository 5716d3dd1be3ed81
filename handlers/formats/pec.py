"""Parse a raw PEC message (receipt, transport or anomaly envelope) into a typed `PecMessage`.

The kind comes from the provider headers ``X-Ricevuta`` / ``X-Trasporto`` — never from the
subject, which providers prefix, translate and double (domain.md §4.1–4.2). The parts follow the
DM 2/11/2005 layout: ``multipart/signed`` → ``multipart/mixed`` → [human text, ``daticert.xml``,
``postacert.eml``] + ``smime.p7s``. Byte-exact pieces (signed content, postacert.eml) are cut from
the original bytes (`mime_raw`); signature verification is another module's job.
"""

from __future__ import annotations

import contextlib
import email
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from enum import StrEnum

from handlers.formats.daticert import (
    Daticert,
    MalformedDaticert,
    TipoRicevuta,
    normalize_message_id,
    parse_daticert,
)
from handlers.formats.filenames import safe_filename
from handlers.formats.mime_raw import (
    LENIENT_POLICY,
    MimeStructureError,
    RawEntity,
    decode_transfer_encoding,
    parse_entity,
    split_multipart,
)

__all__ = [
    "MAX_PEC_BYTES",
    "InnerMessage",
    "MalformedPec",
    "NotPec",
    "PecAttachment",
    "PecKind",
    "PecMessage",
    "is_pec",
    "normalize_message_id",
    "parse_pec",
]

#: PEC providers cap a message at 30 MB (domain.md §4.1); leave room for transfer encoding.
MAX_PEC_BYTES = 64 * 1024 * 1024


class MalformedPec(ValueError):
    """The bytes claim to be PEC but cannot be read as one (broken MIME, daticert, headers)."""


class NotPec(MalformedPec):
    """The message has neither ``X-Ricevuta`` nor ``X-Trasporto``: ordinary mail, not PEC."""


class PecKind(StrEnum):
    """What a PEC message is, from ``X-Ricevuta`` (receipts) or ``X-Trasporto`` (envelopes)."""

    ACCETTAZIONE = "accettazione"
    NON_ACCETTAZIONE = "non-accettazione"
    PRESA_IN_CARICO = "presa-in-carico"
    AVVENUTA_CONSEGNA = "avvenuta-consegna"
    ERRORE_CONSEGNA = "errore-consegna"
    PREAVVISO_ERRORE_CONSEGNA = "preavviso-errore-consegna"
    RILEVAZIONE_VIRUS = "rilevazione-virus"
    POSTA_CERTIFICATA = "posta-certificata"  # transport envelope: carries a certified message
    ANOMALIA = "errore"  # anomaly envelope: non-PEC mail that entered a PEC box, not certified

    @property
    def is_receipt(self) -> bool:
        """True for the provider receipts/notices (``X-Ricevuta``)."""
        return self not in (PecKind.POSTA_CERTIFICATA, PecKind.ANOMALIA)

    @property
    def is_envelope(self) -> bool:
        """True for the envelopes (``X-Trasporto``)."""
        return not self.is_receipt


_RECEIPTS = {k.value: k for k in PecKind if k.is_receipt}
_TRANSPORTS = {
    PecKind.POSTA_CERTIFICATA.value: PecKind.POSTA_CERTIFICATA,
    "errore": PecKind.ANOMALIA,
}
_SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")


@dataclass(frozen=True, slots=True)
class PecAttachment:
    """An attachment of the inner message, decoded from its transfer encoding.

    ``filename`` is safe to use (see `safe_filename`); ``original_filename`` is what the sender
    wrote, for display and matching only.
    """

    filename: str
    original_filename: str | None
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class InnerMessage:
    """The certified original (``postacert.eml``): exact bytes plus what consumers read."""

    raw: bytes
    message_id: str | None
    riferimento_message_id: str | None
    subject: str | None
    from_address: str | None
    to: tuple[str, ...]
    date: datetime | None
    attachments: tuple[PecAttachment, ...]
    text: str | None  # first text/plain body (SdI writes the next sdiNN address there)

    def attachment(self, filename: str) -> PecAttachment | None:
        """The first attachment whose (sanitised) name is ``filename``."""
        return next((a for a in self.attachments if a.filename == filename), None)


@dataclass(frozen=True, slots=True)
class PecMessage:
    """One PEC receipt or envelope.

    Message-IDs are normalised (no angle brackets). ``signed_content`` and ``signature`` are the
    exact first part of ``multipart/signed`` and the DER of ``smime.p7s``; both None if the
    message is not signed (which a verifier must treat as a failure). ``subject`` is for humans.
    """

    kind: PecKind
    message_id: str | None
    riferimento_message_id: str | None
    tipo_ricevuta: TipoRicevuta | None
    subject: str | None
    from_address: str | None
    reply_to: str | None
    date: datetime | None
    daticert: Daticert | None
    daticert_xml: bytes | None
    postacert: InnerMessage | None
    signed_content: bytes | None
    signature: bytes | None

    @property
    def mittente(self) -> str | None:
        """The certified original sender: daticert ``mittente``, else ``Reply-To``.

        For SdI envelopes this is the ``sdiNN@pec.fatturapa.it`` address to answer/send to next
        (domain.md §4.1); for receipts of our own mail it is our address.
        """
        if self.daticert is not None:
            return self.daticert.mittente
        return self.reply_to


# --- headers ------------------------------------------------------------------------------------


def _header_text(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    try:
        # RFC 2047 encoded words (=?iso-8859-1?Q?...?=) are common in PEC subjects
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        text = str(value)
    text = " ".join(text.split())
    return text or None


def _address(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    address = email.utils.parseaddr(str(value))[1].strip()
    return address or None


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    values = [str(v) for v in message.get_all(name) or []]
    return tuple(a for _, a in email.utils.getaddresses(values) if a)


def _date(message: Message) -> datetime | None:
    value = message.get("Date")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" (RFC 5322 §3.3: UTC, local zone unknown) comes back naive: it is still UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _single(message: Message, name: str) -> str | None:
    values = {" ".join(str(v).split()).lower() for v in message.get_all(name) or []}
    if len(values) > 1:
        raise MalformedPec(f"conflicting {name} headers: {sorted(values)}")
    return values.pop() if values else None


def _classify(headers: Message) -> PecKind:
    ricevuta, trasporto = _single(headers, "X-Ricevuta"), _single(headers, "X-Trasporto")
    if ricevuta is None and trasporto is None:
        raise NotPec("no X-Ricevuta or X-Trasporto header: not a PEC message")
    if ricevuta is not None and trasporto is not None:
        raise MalformedPec("both X-Ricevuta and X-Trasporto present")
    if ricevuta is not None:
        if ricevuta not in _RECEIPTS:
            raise MalformedPec(f"unknown X-Ricevuta {ricevuta!r}")
        return _RECEIPTS[ricevuta]
    assert trasporto is not None
    if trasporto not in _TRANSPORTS:
        raise MalformedPec(f"unknown X-Trasporto {trasporto!r}")
    return _TRANSPORTS[trasporto]


def is_pec(raw: bytes) -> bool:
    """True if ``raw`` carries a valid ``X-Ricevuta`` or ``X-Trasporto`` header. Never raises.

    Only headers are read; a True here does not mean `parse_pec` will succeed.
    """
    try:
        headers = BytesHeaderParser(policy=LENIENT_POLICY).parsebytes(raw[:MAX_PEC_BYTES])
        _classify(headers)
    except (MalformedPec, ValueError, TypeError, LookupError):
        return False
    return True


# --- inner message ----------------------------------------------------------------------------


def _part_name(part: Message) -> str | None:
    name = part.get_filename() or part.get_param("name")
    if isinstance(name, tuple):
        name = email.utils.collapse_rfc2231_value(name)
    if not isinstance(name, str):
        return None
    if "=?" in name:  # RFC 2047 in a parameter: not allowed, widely done
        with contextlib.suppress(ValueError, LookupError, UnicodeError):
            name = str(make_header(decode_header(name)))
    return name


def _collect(
    part: Message, attachments: list[PecAttachment], texts: list[str], depth: int = 0
) -> None:
    if depth > 20:
        raise MalformedPec("MIME nesting too deep")
    if part.is_multipart():
        payload = part.get_payload()
        if part.get_content_type() == "message/rfc822" and isinstance(payload, list) and payload:
            # a forwarded mail: keep it whole as one .eml attachment, do not flatten it
            try:
                content = payload[0].as_bytes() if isinstance(payload[0], Message) else b""
            except (ValueError, TypeError, LookupError) as exc:
                raise MalformedPec(f"unreadable embedded message: {exc}") from exc
            name = _part_name(part)
            attachments.append(
                PecAttachment(
                    safe_filename(name, fallback="message.eml"), name, "message/rfc822", content
                )
            )
            return
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                _collect(sub, attachments, texts, depth + 1)
        return
    name = _part_name(part)
    decoded = part.get_payload(decode=True)
    content = decoded if isinstance(decoded, bytes) else b""
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if name is None and part.get_content_maintype() == "text" and disposition != "attachment":
        if part.get_content_type() == "text/plain":
            charset = part.get_content_charset() or "utf-8"
            try:
                texts.append(content.decode(charset, errors="replace"))
            except LookupError:
                texts.append(content.decode("utf-8", errors="replace"))
        return
    fallback = f"part-{len(attachments) + 1}"
    attachments.append(
        PecAttachment(
            safe_filename(name, fallback=fallback), name, part.get_content_type(), content
        )
    )


def _inner(raw: bytes) -> InnerMessage:
    message = email.message_from_bytes(raw, policy=LENIENT_POLICY)
    attachments: list[PecAttachment] = []
    texts: list[str] = []
    _collect(message, attachments, texts)
    return InnerMessage(
        raw=raw,
        message_id=normalize_message_id(message.get("Message-ID")),
        riferimento_message_id=normalize_message_id(message.get("X-Riferimento-Message-ID")),
        subject=_header_text(message, "Subject"),
        from_address=_address(message, "From"),
        to=_addresses(message, "To"),
        date=_date(message),
        attachments=tuple(attachments),
        text=texts[0] if texts else None,
    )


# --- envelope -----------------------------------------------------------------------------------


def _tipo_ricevuta(headers: Message) -> TipoRicevuta | None:
    value = _single(headers, "X-TipoRicevuta")
    if value is None:
        return None
    try:
        return TipoRicevuta(value)
    except ValueError:
        raise MalformedPec(f"unknown X-TipoRicevuta {value!r}") from None


def _is_postacert(part: RawEntity) -> bool:
    return part.content_type == "message/rfc822" or (part.filename or "").lower() == "postacert.eml"


def parse_pec(raw: bytes) -> PecMessage:
    """Parse a whole PEC message. Raise `NotPec` for ordinary mail, `MalformedPec` for broken
    PEC (bad MIME structure, truncation, unreadable or inconsistent daticert, a transport
    envelope without postacert.eml)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("parse_pec expects bytes")
    raw = bytes(raw)
    if len(raw) > MAX_PEC_BYTES:
        raise MalformedPec(f"message too large: {len(raw)} bytes (limit {MAX_PEC_BYTES})")
    top = parse_entity(raw)
    kind = _classify(top.headers)

    signed_content = signature = None
    content = top
    try:
        if top.content_type == "multipart/signed":
            signed = split_multipart(top)
            if len(signed) != 2:
                raise MalformedPec(f"multipart/signed with {len(signed)} parts, expected 2")
            content, sig_part = signed
            if sig_part.content_type not in _SIGNATURE_TYPES:
                raise MalformedPec(f"signature part is {sig_part.content_type}")
            signed_content, signature = content.raw, decode_transfer_encoding(sig_part)
        parts = (
            split_multipart(content)
            if content.headers.get_content_maintype() == "multipart"
            else []
        )
        daticert_xml = postacert_raw = None
        for part in parts:
            name = (part.filename or "").lower()
            if name == "daticert.xml" and daticert_xml is None:
                daticert_xml = decode_transfer_encoding(part)
            elif _is_postacert(part) and postacert_raw is None:
                postacert_raw = decode_transfer_encoding(part)
    except MimeStructureError as exc:
        raise MalformedPec(f"broken MIME structure: {exc}") from exc

    daticert = None
    if daticert_xml is not None:
        try:
            daticert = parse_daticert(daticert_xml)
        except MalformedDaticert as exc:
            raise MalformedPec(f"bad daticert.xml: {exc}") from exc
        if daticert.tipo.value != kind.value:
            raise MalformedPec(f"daticert tipo {daticert.tipo} contradicts header kind {kind}")
    if kind is PecKind.POSTA_CERTIFICATA and postacert_raw is None:
        raise MalformedPec("transport envelope without postacert.eml")

    return PecMessage(
        kind=kind,
        message_id=normalize_message_id(top.headers.get("Message-ID")),
        riferimento_message_id=normalize_message_id(top.headers.get("X-Riferimento-Message-ID")),
        tipo_ricevuta=_tipo_ricevuta(top.headers),
        subject=_header_text(top.headers, "Subject"),
        from_address=_address(top.headers, "From"),
        reply_to=_address(top.headers, "Reply-To"),
        date=_date(top.headers),
        daticert=daticert,
        daticert_xml=daticert_xml,
        postacert=_inner(postacert_raw) if postacert_raw is not None else None,
        signed_content=signed_content,
        signature=signature,
    )
