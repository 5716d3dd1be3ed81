"""Build PEC receipts and envelopes as raw RFC 5322 bytes, in the structure of the real ones.

For the sandbox (issue 4), which plays the PEC providers. Each builder takes the *original*
message (bytes as the sender submitted them), the provider (name, domain, signing key) and the
identifiers and time to write — nothing is read from a clock or a random source, so output is
deterministic. What comes out is what `pec.parse_pec` and `smime.verify` read (domain.md §4.2):

* receipts (``X-Ricevuta``): accettazione, non-accettazione, avvenuta-consegna (``completa``
  carries the certified original as postacert.eml), errore-consegna, preavviso-errore-consegna;
* transport envelope (``X-Trasporto: posta-certificata``) and anomaly envelope (``errore``);

all ``multipart/signed`` → ``multipart/mixed`` → [``multipart/alternative`` human text,
``daticert.xml``, ``postacert.eml``] + ``smime.p7s``, header order as in the Aruba/Sogei samples.
Real providers replace the original's Message-ID with their ``identificativo`` and keep the
sender's in ``X-Riferimento-Message-ID`` (both real postacert.eml show it): `certified_original`
does that and leaves every other byte alone.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser

from handlers.formats.daticert import (
    Daticert,
    DaticertErrore,
    DaticertRecipient,
    DaticertTipo,
    RecipientKind,
    TipoRicevuta,
    normalize_message_id,
)
from handlers.formats.mime_raw import LENIENT_POLICY
from handlers.formats.pec_mime import (
    CRLF,
    Part,
    b64_lines,
    boundary_seed,
    crlf,
    daticert_xml,
    header_date,
    italian_time,
    multipart,
    signed_message,
)
from handlers.formats.pec_text import human_text
from handlers.formats.sig_common import Signer

__all__ = [
    "OriginalMessage",
    "PecProvider",
    "accettazione",
    "anomaly_envelope",
    "avvenuta_consegna",
    "build_receipt",
    "certified_original",
    "daticert_xml",
    "errore_consegna",
    "non_accettazione",
    "opec_identifier",
    "preavviso_errore_consegna",
    "read_original",
    "transport_envelope",
]


@dataclass(frozen=True, slots=True)
class PecProvider:
    """A PEC provider as the sandbox plays it: daticert ``gestore-emittente``, mail domain
    (``posta-certificata@<domain>`` sends everything) and the key that signs its messages.

    ``protocol`` is the multipart/signed protocol: real providers still write the legacy
    ``application/x-pkcs7-signature`` (domain.md §4.2); both are read by `smime`.
    """

    gestore: str
    domain: str
    signer: Signer
    protocol: str = "application/pkcs7-signature"

    @property
    def address(self) -> str:
        return f"posta-certificata@{self.domain}"


@dataclass(frozen=True, slots=True)
class OriginalMessage:
    """What a provider reads of the submitted message (for daticert, subject, addressing)."""

    raw: bytes
    message_id: str | None  # the sender's, normalised (from X-Riferimento-Message-ID if certified)
    subject: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: str | None
    tipo_ricevuta: TipoRicevuta

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def opec_identifier(domain: str, when: dt.datetime, serial: int, *, pid: int = 1,
                    node: int = 1) -> str:
    """A provider message identifier shaped like the real ones (no angle brackets), e.g.
    ``opec288.20181113163926.01838.310.1.63@pec.aruba.it``: time, process, serial, node."""
    return f"opec288.{italian_time(when):%Y%m%d%H%M%S}.{pid:05d}.{serial}.1.{node}@{domain}"


def _text(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        text = str(value)
    return " ".join(text.split())


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    values = [str(v) for v in message.get_all(name) or []]
    return tuple(a for _, a in email.utils.getaddresses(values) if a)


def read_original(raw: bytes) -> OriginalMessage:
    """Read the headers a provider needs from the submitted message; raise `ValueError` if it
    has no From address (a provider would refuse it)."""
    headers = BytesHeaderParser(policy=LENIENT_POLICY).parsebytes(raw)
    sender = email.utils.parseaddr(str(headers.get("From", "")))[1]
    if not sender:
        raise ValueError("original message has no From address")
    reply_to = email.utils.parseaddr(str(headers.get("Reply-To", "")))[1] or None
    message_id = normalize_message_id(headers.get("X-Riferimento-Message-ID")) or \
        normalize_message_id(headers.get("Message-ID"))
    tipo = (headers.get("X-TipoRicevuta") or "").strip().lower()
    return OriginalMessage(
        raw=raw,
        message_id=message_id,
        subject=_text(headers, "Subject"),
        sender=sender,
        to=_addresses(headers, "To"),
        cc=_addresses(headers, "Cc"),
        reply_to=reply_to,
        tipo_ricevuta=TipoRicevuta(tipo) if tipo in TipoRicevuta._value2member_map_
        else TipoRicevuta.COMPLETA,  # the DM default when the sender asks for nothing
    )


_HEADER_END = re.compile(rb"\r\n\r\n")
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")


def certified_original(raw: bytes, identificativo: str) -> bytes:
    """The original as providers certify it (postacert.eml): Message-ID replaced by the
    provider ``identificativo``, the sender's id moved to ``X-Riferimento-Message-ID``, both
    appended after the other headers, everything else byte-identical (CRLF). Idempotent."""
    data = crlf(raw)
    match = _HEADER_END.search(data)
    head, body = (data, b"") if match is None else (data[: match.start()], data[match.start():])
    fields: list[bytes] = []
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += CRLF + line  # folded continuation of the previous field
        else:
            fields.append(line)
    original = read_original(data).message_id
    drop = {b"message-id", b"x-riferimento-message-id"}
    kept = [f for f in fields if not (m := _FIELD.match(f)) or m[1].lower() not in drop]
    kept.append(f"Message-ID: <{identificativo}>".encode())
    if original is not None:
        kept.append(f"X-Riferimento-Message-ID: <{original}>".encode())
    out = CRLF.join(kept) + (body or CRLF + CRLF)
    return out if out.endswith(CRLF) else out + CRLF


def _encode(value: str) -> str:
    # RFC 2047 for non-ASCII subjects/names; real providers do the same (iso-8859-1 or UTF-8).
    return value if value.isascii() else Header(value, "utf-8").encode()


def _daticert(
    tipo: DaticertTipo, original: OriginalMessage, provider: PecProvider, identificativo: str,
    when: dt.datetime, kinds: Mapping[str, RecipientKind] | None, **extra: object
) -> Daticert:
    kinds = kinds or {}
    fields: dict[str, object] = {
        "errore": DaticertErrore.NESSUNO, "ricevuta": None, "consegna": None,
        "ricezione": (), "errore_esteso": None, **extra,
    }
    return Daticert(
        tipo=tipo,
        mittente=original.sender,
        destinatari=tuple(
            DaticertRecipient(a, kinds.get(a, RecipientKind.CERTIFICATO))
            for a in original.recipients
        ),
        risposte=original.reply_to or original.sender,
        oggetto=original.subject,
        gestore_emittente=provider.gestore,
        data=italian_time(when),
        identificativo=identificativo,
        msgid=original.message_id,
        **fields,  # type: ignore[arg-type]
    )


def _xml_part(data: bytes) -> Part:
    return [
        ("Content-Type", 'application/xml; name="daticert.xml"'),
        ("Content-Disposition", 'inline; filename="daticert.xml"'),
        ("Content-Transfer-Encoding", "base64"),
    ], b64_lines(data, 60)


def _eml_part(data: bytes) -> Part:
    body = crlf(data)
    body = body if body.endswith(CRLF) else body + CRLF
    # 8-bit content cannot be declared 7bit (RFC 2045 §2.7); real postacert are ASCII.
    encoding = "7bit" if body.isascii() else "8bit"
    return [
        ("Content-Type", 'message/rfc822; name="postacert.eml"'),
        ("Content-Disposition", 'inline; filename="postacert.eml"'),
        ("Content-Transfer-Encoding", encoding),
    ], body


def _assemble(
    kind: str, headers: list[tuple[str, str]], after: list[tuple[str, str]],
    title_args: dict[str, str], provider: PecProvider, when: dt.datetime, seed_id: str,
    daticert: Daticert | None, postacert: bytes | None,
) -> bytes:
    seed = boundary_seed(kind, seed_id, when.isoformat())
    epoch = int(when.timestamp())
    pid, n = int(seed[:4], 16) % 30000 + 1000, int(seed[4:8], 16) % 90000
    mixed = f"----------=_{epoch}-{pid}-{n}"
    alt = f"----------=_{epoch}-{pid}-{n + 1}"
    plain, html = human_text(kind, italian_time(when), **title_args)
    parts: list[Part] = [
        multipart("alternative", alt, [plain, html],
                  extra=[("Content-Transfer-Encoding", "binary")], folded=True)
    ]
    if daticert is not None:
        parts.append(_xml_part(daticert_xml(daticert)))
    if postacert is not None:
        parts.append(_eml_part(postacert))
    content = multipart("mixed", mixed, parts, extra=[("Content-Transfer-Encoding", "binary")])
    return signed_message(headers, content, provider.signer, when,
                          boundary=f"----{seed[8:40].upper()}", protocol=provider.protocol,
                          after=after)


_PREFIX = {
    DaticertTipo.ACCETTAZIONE: "ACCETTAZIONE: ",
    DaticertTipo.NON_ACCETTAZIONE: "AVVISO DI NON ACCETTAZIONE: ",
    DaticertTipo.PRESA_IN_CARICO: "PRESA IN CARICO: ",
    DaticertTipo.AVVENUTA_CONSEGNA: "CONSEGNA: ",
    DaticertTipo.ERRORE_CONSEGNA: "AVVISO DI MANCATA CONSEGNA: ",
    DaticertTipo.PREAVVISO_ERRORE_CONSEGNA: "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ",
    DaticertTipo.RILEVAZIONE_VIRUS: "PROBLEMA DI SICUREZZA: ",
}


def build_receipt(
    tipo: DaticertTipo,
    original: bytes,
    provider: PecProvider,
    *,
    message_id: str,
    identificativo: str,
    when: dt.datetime,
    consegna: str | None = None,
    errore: DaticertErrore = DaticertErrore.NESSUNO,
    errore_esteso: str | None = None,
    ricevuta: TipoRicevuta | None = None,
    recipient_kinds: Mapping[str, RecipientKind] | None = None,
    subject_prefix: str | None = None,
) -> bytes:
    """Any provider receipt (``X-Ricevuta: <tipo>``) about ``original``.

    ``message_id`` is the receipt's own id, ``identificativo`` the provider id of the original's
    transport (daticert), both without angle brackets. With ``ricevuta=COMPLETA`` the certified
    original travels as postacert.eml (ricevuta completa, avvenuta-consegna only).
    """
    if tipo is DaticertTipo.POSTA_CERTIFICATA:
        raise ValueError("posta-certificata is an envelope: use transport_envelope")
    if ricevuta is TipoRicevuta.BREVE:
        raise ValueError("ricevuta breve (attachments replaced by hashes) is not simulated")
    orig = read_original(crlf(original))
    daticert = _daticert(tipo, orig, provider, identificativo, when, recipient_kinds,
                         errore=errore, errore_esteso=errore_esteso, consegna=consegna,
                         ricevuta=ricevuta)
    prefix = subject_prefix if subject_prefix is not None else _PREFIX[tipo]
    subject = ("Subject", _encode(prefix + orig.subject))
    riferimento = ("X-Riferimento-Message-ID", f"<{orig.message_id}>")
    base = [("Date", header_date(when))]
    own_id = ("Message-ID", f"<{message_id}>")
    tail = [("To", orig.sender), ("X-Ricevuta", tipo.value), ("From", provider.address)]
    # Header order of the real Aruba receipts: avvenuta-consegna has Message-ID before To.
    if tipo is DaticertTipo.AVVENUTA_CONSEGNA:
        headers, after = [subject, riferimento, *base, own_id, *tail], []
    else:
        headers, after = [subject, riferimento, *base, *tail], [own_id]
    postacert = None
    if tipo is DaticertTipo.AVVENUTA_CONSEGNA and ricevuta is TipoRicevuta.COMPLETA:
        postacert = certified_original(original, identificativo)
    args = {"subject": orig.subject, "sender": orig.sender, "identificativo": identificativo,
            "recipients": ", ".join(orig.recipients), "consegna": consegna or "",
            "errore": errore_esteso or ""}
    return _assemble(tipo.value, headers, after, args, provider, when, message_id, daticert,
                     postacert)


def accettazione(original: bytes, provider: PecProvider, *, message_id: str,
                 identificativo: str, when: dt.datetime,
                 recipient_kinds: Mapping[str, RecipientKind] | None = None) -> bytes:
    """Sender's provider accepted the message (``ACCETTAZIONE:``; daticert without consegna)."""
    return build_receipt(DaticertTipo.ACCETTAZIONE, original, provider, message_id=message_id,
                         identificativo=identificativo, when=when,
                         recipient_kinds=recipient_kinds)


def non_accettazione(original: bytes, provider: PecProvider, *, message_id: str,
                     identificativo: str, when: dt.datetime, errore: DaticertErrore,
                     errore_esteso: str) -> bytes:
    """Sender's provider refused the message (format, size, virus): errore + errore-esteso."""
    prefix = "AVVISO DI NON ACCETTAZIONE PER VIRUS: " if errore is DaticertErrore.VIRUS else None
    return build_receipt(DaticertTipo.NON_ACCETTAZIONE, original, provider,
                         message_id=message_id, identificativo=identificativo, when=when,
                         errore=errore, errore_esteso=errore_esteso, subject_prefix=prefix)


def avvenuta_consegna(original: bytes, provider: PecProvider, *, message_id: str,
                      identificativo: str, when: dt.datetime, consegna: str,
                      ricevuta: TipoRicevuta = TipoRicevuta.COMPLETA) -> bytes:
    """Recipient's provider delivered to ``consegna``; ``completa`` embeds the original,
    ``sintetica`` is daticert only."""
    return build_receipt(DaticertTipo.AVVENUTA_CONSEGNA, original, provider,
                         message_id=message_id, identificativo=identificativo, when=when,
                         consegna=consegna, ricevuta=ricevuta)


def errore_consegna(original: bytes, provider: PecProvider, *, message_id: str,
                    identificativo: str, when: dt.datetime, consegna: str,
                    errore: DaticertErrore, errore_esteso: str,
                    timeout: bool = False) -> bytes:
    """Delivery to ``consegna`` failed (``no-dest``, ``no-dominio``, ``virus``, ``altro``);
    ``timeout`` makes it the final 24-hour notice (``... PER SUP. TEMPO MASSIMO:``)."""
    prefix = None
    if timeout:
        prefix = _PREFIX[DaticertTipo.PREAVVISO_ERRORE_CONSEGNA]
    elif errore is DaticertErrore.VIRUS:
        prefix = "AVVISO DI MANCATA CONSEGNA PER VIRUS: "
    return build_receipt(DaticertTipo.ERRORE_CONSEGNA, original, provider,
                         message_id=message_id, identificativo=identificativo, when=when,
                         consegna=consegna, errore=errore, errore_esteso=errore_esteso,
                         subject_prefix=prefix)


def preavviso_errore_consegna(original: bytes, provider: PecProvider, *, message_id: str,
                              identificativo: str, when: dt.datetime, consegna: str,
                              errore_esteso: str = "Superamento tempo massimo") -> bytes:
    """Sender's provider, ~12 h without a delivery receipt for ``consegna`` (domain.md §4.2)."""
    return build_receipt(DaticertTipo.PREAVVISO_ERRORE_CONSEGNA, original, provider,
                         message_id=message_id, identificativo=identificativo, when=when,
                         consegna=consegna, errore=DaticertErrore.ALTRO,
                         errore_esteso=errore_esteso)


def _envelope_headers(orig: OriginalMessage, provider: PecProvider, prefix: str,
                      when: dt.datetime, trasporto: str) -> list[tuple[str, str]]:
    headers = [("Subject", _encode(prefix + orig.subject))]
    if orig.message_id is not None:
        headers.append(("X-Riferimento-Message-ID", f"<{orig.message_id}>"))
    headers += [("Date", header_date(when)), ("Reply-To", orig.sender)]
    if orig.to:
        headers.append(("To", ", ".join(orig.to)))
    if orig.cc:
        headers.append(("Cc", ", ".join(orig.cc)))
    sender = _encode(f"Per conto di: {orig.sender}")
    headers += [("X-Trasporto", trasporto), ("From", f'"{sender}" <{provider.address}>')]
    return headers


def transport_envelope(original: bytes, provider: PecProvider, *, identificativo: str,
                       when: dt.datetime,
                       recipient_kinds: Mapping[str, RecipientKind] | None = None) -> bytes:
    """The busta di trasporto the sender's provider makes (``POSTA CERTIFICATA:``).

    Its Message-ID, the daticert ``identificativo`` and the postacert.eml Message-ID are all
    ``identificativo`` (as in the real Sogei envelopes); ``X-TipoRicevuta`` and daticert
    ``ricevuta`` echo what the sender asked for.
    """
    orig = read_original(crlf(original))
    if orig.message_id is None:
        raise ValueError("original message has no Message-ID")
    tipo = orig.tipo_ricevuta
    daticert = _daticert(DaticertTipo.POSTA_CERTIFICATA, orig, provider, identificativo, when,
                         recipient_kinds, ricevuta=tipo)
    headers = _envelope_headers(orig, provider, "POSTA CERTIFICATA: ", when, "posta-certificata")
    headers.append(("X-TipoRicevuta", tipo.value))
    args = {"subject": orig.subject, "sender": orig.sender, "identificativo": identificativo,
            "recipients": ", ".join(orig.recipients), "consegna": "", "errore": "",
}
    return _assemble("posta-certificata", headers, [("Message-ID", f"<{identificativo}>")], args,
                     provider, when, identificativo, daticert,
                     certified_original(original, identificativo))


def anomaly_envelope(original: bytes, provider: PecProvider, *, message_id: str,
                     when: dt.datetime) -> bytes:
    """The busta di anomalia a recipient's provider wraps non-certified mail in
    (``X-Trasporto: errore``, ``ANOMALIA MESSAGGIO:``). No daticert: its DTD has no tipo for
    it; the original travels unchanged, since no provider certified it."""
    orig = read_original(crlf(original))
    headers = _envelope_headers(orig, provider, "ANOMALIA MESSAGGIO: ", when, "errore")
    args = {"subject": orig.subject, "sender": orig.sender, "identificativo": message_id,
            "recipients": ", ".join(orig.recipients), "consegna": "", "errore": "",
}
    return _assemble("errore", headers, [("Message-ID", f"<{message_id}>")], args, provider,
                     when, message_id, None, crlf(original))
