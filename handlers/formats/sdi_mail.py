"""Wrap SdI files in the PEC mail SdI sends: the inner message, then its provider's envelope.

For the sandbox (issue 4). SdI's mail system (JavaMail) submits a message ``From:
sdiNN@pec.fatturapa.it`` with the files as ``application/octet-stream`` attachments named after
the files and a UTF-8 text part that names the address to use next; SdI's provider (Sogei,
``posta-certificata@pcert.sogei.it``) wraps it in a transport envelope (`pec_build`). Layout from
the real envelopes in ``../shared/ref/pec`` (domain.md §4.1): subjects ``Ricevuta di consegna
<IdSdI>``, ``Invio File <IdSdI>`` (never relied on by consumers), ``X-TipoRicevuta: breve``,
notifications base64, MT 7bit, invoice XML quoted-printable. Quoted-printable here is the
binary-safe kind (line breaks encoded): the recipient must get the exact bytes the MT ``Hash``
was computed on.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
from collections.abc import Mapping, Sequence

from handlers.formats.daticert import RecipientKind
from handlers.formats.filenames import NotificationType, parse_notification_file_name
from handlers.formats.pec_build import PecProvider, transport_envelope
from handlers.formats.pec_mime import CRLF, boundary_seed, crlf, italian_time
from handlers.formats.sdi import parse_sdi_message
from handlers.formats.sdi_build import SdiFile

__all__ = ["SDI_DOMAIN", "sdi_envelope", "sdi_mail", "sdi_message_id"]

SDI_DOMAIN = "pec.fatturapa.it"

_SUBJECTS = {
    NotificationType.RC: "Ricevuta di consegna",
    NotificationType.NS: "Notifica di scarto",
    NotificationType.MC: "Notifica di mancata consegna",
    NotificationType.NE: "Notifica di esito",
    NotificationType.DT: "Notifica di decorrenza termini",
    NotificationType.AT: "Attestazione di avvenuta trasmissione della fattura con "
                         "impossibilita' di recapito",
    NotificationType.SE: "Notifica di scarto esito committente",
    NotificationType.MT: "Invio File",
}


def sdi_message_id(serial: int, when: dt.datetime) -> str:
    """An id shaped like SdI's own Message-IDs: ``5168561142842364.1542124052746@pec...``."""
    return f"{serial:016d}.{int(when.timestamp() * 1000)}@{SDI_DOMAIN}"


def _kind(files: Sequence[SdiFile]) -> tuple[NotificationType, SdiFile]:
    named = []
    for f in files:
        try:
            named.append((parse_notification_file_name(f.name).type, f))
        except ValueError:
            continue  # the invoice file travelling with its MT
    if not named:
        raise ValueError("no SdI message file among the attachments")
    return next((n for n in named if n[0] is NotificationType.MT), named[0])


def _default_encoding(name: str, kind: NotificationType | None) -> str:
    if kind is NotificationType.MT:
        return "7bit"
    if kind is None and name.lower().endswith(".xml"):
        return "quoted-printable"
    return "base64"


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        text = base64.b64encode(data)
        return b"".join(text[i : i + 76] + CRLF for i in range(0, len(text), 76))
    if encoding == "quoted-printable":
        return crlf(binascii.b2a_qp(data, istext=False)) + CRLF
    if encoding == "7bit":
        return crlf(data) + CRLF  # that CRLF belongs to the next delimiter (RFC 2046)
    raise ValueError(f"unsupported Content-Transfer-Encoding {encoding!r}")


def _text(kind: NotificationType, file: SdiFile, next_address: str, simulazione: bool) -> str:
    parsed = parse_sdi_message(file.content) if file.name.endswith(".xml") else None
    ident = parsed.identificativo_sdi if parsed is not None else "?"
    nome = getattr(parsed, "nome_file", None) or file.name
    context = ", inviato nel contesto della simulazione," if simulazione else ","
    subject = _SUBJECTS[kind].lower()
    if kind is NotificationType.MT:
        first = (f"Invio file {nome}, con identificativo {ident}{context[:-1]}. In allegato il "
                 "file contenente la fattura ed il file contenente i metadati.")
    else:
        first = (f"Il file {nome}, con identificativo {ident}{context} e' oggetto della "
                 f"{subject} in allegato.")
    return (
        f"{first}\r\n\r\nPer qualsiasi necessita' di chiarimenti non rispondere a questa mail, "
        "ma utilizzare i tradizionali canali di assistenza presenti sul sito "
        "www.fatturapa.gov.it.\r\n\r\nIl nuovo indirizzo da utilizzare per inviare le prossime "
        "fatture al Sistema di Interscambio, fino ad un eventuale nuovo avviso, e' "
        f"{next_address}. L'utilizzo di un indirizzo diverso non garantisce il buon esito del "
        "recapito al destinatario.\r\n"
    )


def sdi_mail(
    files: Sequence[SdiFile],
    *,
    sdi_address: str,
    to: str,
    message_id: str,
    when: dt.datetime,
    next_address: str | None = None,
    simulazione: bool = False,
    encodings: Mapping[str, str] | None = None,
) -> bytes:
    """The message SdI submits to its provider: ``files`` (SdI messages, or an MT plus the
    invoice) and the explanatory text; ``message_id`` without angle brackets."""
    kind, main = _kind(files)
    ident = parse_sdi_message(main.content).identificativo_sdi if main.name.endswith(".xml") \
        else ""
    subject = f"{_SUBJECTS[kind]} {ident}".strip() + (" (SIMULAZIONE)" if simulazione else "")
    millis = int(when.timestamp() * 1000)
    seed = boundary_seed("sdi", message_id)
    boundary = f"----=_Part_{int(seed[:5], 16)}_-{int(seed[5:14], 16)}.{millis}"
    local = italian_time(when)
    headers = [
        ("From", sdi_address), ("To", to), ("Subject", subject), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{boundary}"'),
        ("X-TipoRicevuta", "breve"),  # what SdI asks of its provider (real envelopes)
        ("Date", f"{email.utils.format_datetime(local)} ({local.tzname()})"),
        ("Message-ID", f"<{message_id}>"),
    ]
    delimiter = f"--{boundary}".encode()
    out = b"".join(f"{n}: {v}".encode() + CRLF for n, v in headers) + CRLF
    for f in files:
        try:
            file_kind: NotificationType | None = parse_notification_file_name(f.name).type
        except ValueError:
            file_kind = None
        encoding = (encodings or {}).get(f.name) or _default_encoding(f.name, file_kind)
        body = _encode(f.content, encoding)
        if delimiter in body:
            raise ValueError(f"boundary occurs in {f.name}")
        out += delimiter + CRLF + (
            f"Content-Type: application/octet-stream; name={f.name}\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n"
            f"Content-Disposition: attachment; filename={f.name}\r\n\r\n"
        ).encode() + body
    text = _text(kind, main, next_address or sdi_address, simulazione)
    out += delimiter + CRLF + b"Content-Type: text/plain; charset=UTF-8\r\n"
    out += b"Content-Transfer-Encoding: 7bit\r\n\r\n" + text.encode("ascii", "replace") + CRLF
    return out + delimiter + b"--" + CRLF


def sdi_envelope(
    files: Sequence[SdiFile],
    provider: PecProvider,
    *,
    sdi_address: str,
    to: str,
    message_id: str,
    identificativo: str,
    when: dt.datetime,
    next_address: str | None = None,
    simulazione: bool = False,
    encodings: Mapping[str, str] | None = None,
    recipient_kind: RecipientKind = RecipientKind.CERTIFICATO,
) -> bytes:
    """The transport envelope SdI's provider delivers to ``to``: `sdi_mail` certified by
    ``provider`` (``identificativo`` is the provider id, ``message_id`` SdI's own)."""
    inner = sdi_mail(files, sdi_address=sdi_address, to=to, message_id=message_id, when=when,
                     next_address=next_address, simulazione=simulazione, encodings=encodings)
    return transport_envelope(inner, provider, identificativo=identificativo, when=when,
                              recipient_kinds={to: recipient_kind})
