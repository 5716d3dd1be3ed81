"""Low-level pieces of a PEC message as the providers write them: daticert.xml, MIME parts, S/MIME.

Shared by `pec_build` (receipts and envelopes). Layouts are copied from the real Aruba and Sogei
messages in ``../shared/ref/pec`` (domain.md §4.2): daticert indented by 4 spaces with
``<data zona="+0100">`` in Italian notation; base64 in 60-column lines for daticert and 64 for
``smime.p7s``; human text as iso-8859-1 quoted-printable; everything CRLF, because the S/MIME
signature covers the first part of ``multipart/signed`` with CRLF line endings (RFC 5751 §3.1.1).
The detached CMS is `cms_sign.sign_cades_bes` with the eContent dropped: the signature covers the
signed attributes, whose message-digest is the same whether or not the content travels inside.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import quopri
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from handlers.formats.cms_sign import sign_cades_bes
from handlers.formats.daticert import Daticert, DaticertErrore
from handlers.formats.sdi_dates import ITALY
from handlers.formats.sig_common import Signer

__all__ = [
    "CRLF",
    "Part",
    "b64_lines",
    "boundary_seed",
    "crlf",
    "daticert_xml",
    "detached_signature",
    "header_date",
    "italian_time",
    "multipart",
    "qp_text_part",
    "signed_message",
]

CRLF = b"\r\n"
_EOL = re.compile(rb"\r?\n")

#: One MIME entity: (headers in order, body bytes already transfer-encoded, CRLF).
Part = tuple[Sequence[tuple[str, str]], bytes]


def crlf(data: bytes) -> bytes:
    """Line endings to CRLF (mail on the wire; what the S/MIME signature covers)."""
    return _EOL.sub(CRLF, data)


def italian_time(when: dt.datetime) -> dt.datetime:
    """``when`` in Italian civil time: providers write local time plus its offset (§4.2)."""
    if when.tzinfo is None:
        raise ValueError("PEC timestamps must be timezone-aware")
    return when.astimezone(ITALY)


def header_date(when: dt.datetime) -> str:
    """RFC 5322 date as the providers write it: ``Tue, 13 Nov 2018 16:39:26 +0100``."""
    return email.utils.format_datetime(italian_time(when))


def _zona(when: dt.datetime) -> str:
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def daticert_xml(daticert: Daticert) -> bytes:
    """Serialise ``daticert`` exactly in the providers' layout (DM 2/11/2005 DTD order).

    ``data`` is written in its own offset (``zona``); ``msgid`` gets its angle brackets back
    (escaped), ``identificativo`` has none — as in every real daticert (domain.md §4.2).
    `daticert.parse_daticert` reads the result back to an equal `Daticert`.
    """
    d = daticert
    when = d.data
    if when.tzinfo is None:
        raise ValueError("daticert data must be timezone-aware")
    errore = d.errore.value if isinstance(d.errore, DaticertErrore) else str(d.errore)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<postacert tipo="{d.tipo.value}" errore="{errore}">',
        "    <intestazione>",
        f"        <mittente>{escape(d.mittente)}</mittente>",
    ]
    lines += [
        f'        <destinatari tipo="{r.kind.value}">{escape(r.address)}</destinatari>'
        for r in d.destinatari
    ]
    if d.risposte is not None:
        lines.append(f"        <risposte>{escape(d.risposte)}</risposte>")
    if d.oggetto is not None:
        lines.append(f"        <oggetto>{escape(d.oggetto)}</oggetto>")
    lines += [
        "    </intestazione>",
        "    <dati>",
        f"        <gestore-emittente>{escape(d.gestore_emittente)}</gestore-emittente>",
        f'        <data zona="{_zona(when)}">',
        f"            <giorno>{when:%d/%m/%Y}</giorno>",
        f"            <ora>{when:%H:%M:%S}</ora>",
        "        </data>",
        f"        <identificativo>{escape(d.identificativo)}</identificativo>",
    ]
    if d.msgid is not None:
        lines.append(f"        <msgid>{escape(f'<{d.msgid}>')}</msgid>")
    if d.ricevuta is not None:
        lines.append(f'        <ricevuta tipo="{d.ricevuta.value}" />')
    if d.consegna is not None:
        lines.append(f"        <consegna>{escape(d.consegna)}</consegna>")
    lines += [f"        <ricezione>{escape(r)}</ricezione>" for r in d.ricezione]
    if d.errore_esteso is not None:
        lines.append(f"        <errore-esteso>{escape(d.errore_esteso)}</errore-esteso>")
    lines += ["    </dati>", "</postacert>", ""]
    return "\n".join(lines).encode("utf-8")


def b64_lines(data: bytes, width: int) -> bytes:
    """Base64 in lines of ``width`` characters, each ending with CRLF."""
    text = base64.b64encode(data)
    return b"".join(text[i : i + width] + CRLF for i in range(0, len(text), width))


def qp_text_part(content_type: str, text: str) -> Part:
    """An inline iso-8859-1 quoted-printable text part, as Aruba and Sogei write them."""
    raw = text.replace("\r\n", "\n").encode("iso-8859-1", errors="replace")
    body = crlf(quopri.encodestring(raw, quotetabs=False))
    headers = [
        ("Content-Type", f'{content_type}; charset="iso-8859-1"'),
        ("Content-Disposition", "inline"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    return headers, body


def _headers(headers: Sequence[tuple[str, str]]) -> bytes:
    return b"".join(f"{name}: {value}".encode() + CRLF for name, value in headers)


def _entity(part: Part) -> bytes:
    headers, body = part
    return _headers(headers) + CRLF + body


def multipart(
    subtype: str,
    boundary: str,
    parts: Sequence[Part],
    *,
    extra: Sequence[tuple[str, str]] = (),
    folded: bool = False,
) -> Part:
    """A ``multipart/<subtype>`` entity. ``folded`` puts the boundary on a continuation line
    (the providers' multipart/alternative does); ``extra`` headers follow Content-Type."""
    if any(f"--{boundary}".encode() in _entity(p) for p in parts):
        raise ValueError(f"boundary {boundary!r} occurs in the content")
    sep = ";\r\n " if folded else "; "
    headers = [("Content-Type", f'multipart/{subtype}{sep}boundary="{boundary}"'), *extra]
    delimiter = f"--{boundary}".encode()
    body = b"".join(delimiter + CRLF + _entity(p) + CRLF for p in parts) + delimiter + b"--" + CRLF
    return headers, body


def detached_signature(content: bytes, signer: Signer, when: dt.datetime) -> bytes:
    """DER CMS SignedData (SHA-256) over ``content``, detached (no eContent), for S/MIME."""
    return sign_cades_bes(content, signer, signing_time=when, detached=True)


def boundary_seed(*values: str) -> str:
    """A stable hex string to derive boundaries from (same inputs → same bytes)."""
    return hashlib.sha256("\x00".join(values).encode()).hexdigest()


def signed_message(
    headers: Sequence[tuple[str, str]],
    content: Part,
    signer: Signer,
    when: dt.datetime,
    *,
    boundary: str,
    protocol: str = "application/pkcs7-signature",
    after: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The whole ``multipart/signed`` message: ``headers``, MIME-Version, Content-Type, ``after``.

    The first part is ``content`` (its headers then MIME-Version, as the providers write it);
    the second the detached SHA-256 CMS over its exact CRLF bytes (RFC 1847 §2.1).
    """
    part_headers, part_body = content
    first = _headers([*part_headers, ("MIME-Version", "1.0")]) + CRLF + part_body
    signature = detached_signature(first, signer, when)
    if f"--{boundary}".encode() in first:
        raise ValueError(f"boundary {boundary!r} occurs in the content")
    content_type = (
        f'multipart/signed; protocol="{protocol}"; micalg="sha-256"; boundary="{boundary}"'
    )
    top = [*headers, ("MIME-Version", "1.0"), ("Content-Type", content_type), *after]
    delimiter = f"--{boundary}".encode()
    sig_headers = [
        ("Content-Type", f'{protocol}; name="smime.p7s"'),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Disposition", 'attachment; filename="smime.p7s"'),
    ]
    return (
        _headers(top)
        + CRLF
        + b"This is an S/MIME signed message"
        + CRLF
        + CRLF
        + delimiter
        + CRLF
        + first
        + CRLF
        + delimiter
        + CRLF
        + _headers(sig_headers)
        + CRLF
        + b64_lines(signature, 64)
        + CRLF
        + delimiter
        + b"--"
        + CRLF
    )
