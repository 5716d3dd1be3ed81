"""Verify the PEC provider's S/MIME signature on a raw message (multipart/signed, RFC 1847/5751).

The signed bytes are the first body part exactly as transmitted, headers included, with CRLF line
endings (RFC 5751 §3.1.1): mail stored on Unix has LF endings, so the whole message is
canonicalised to CRLF first (domain.md §4.2). Traps handled here: the CRLF before each boundary
delimiter belongs to the delimiter, not to the signed part (RFC 2046 §5.1.1); a boundary line may
carry trailing whitespace; a boundary that is a prefix of an inner boundary must not match. The
detached CMS in the second part is checked by `cms_verify` (SHA-1 allowed: PEC providers still use
``micalg=sha1``; no ESS attribute required).
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from asn1crypto import cms

from handlers.formats.cms_verify import verify_signed_data
from handlers.formats.sig_common import Failure, SignatureVerdict, fail
from handlers.formats.trust import TrustStore

#: PEC messages are capped at 30 MB (domain.md §4.2); leave room for transfer encoding.
MAX_MESSAGE_BYTES = 48 * 1024 * 1024
_SIGNATURE_TYPES = {"application/pkcs7-signature", "application/x-pkcs7-signature"}
_EOL = re.compile(rb"\r?\n")


class MalformedSmime(ValueError):
    """The message is not a well-formed multipart/signed S/MIME message."""


@dataclass(frozen=True, slots=True)
class SignedParts:
    """The two halves of a multipart/signed body (RFC 1847 §2.1)."""

    content: bytes  # first body part, CRLF, headers included: what the signature covers
    signature: bytes  # DER CMS SignedData (detached), transfer encoding undone
    protocol: str
    micalg: str


def canonicalize(message: bytes) -> bytes:
    """Line endings to CRLF (LF-only mail from a Unix mailbox, or mixed)."""
    return _EOL.sub(b"\r\n", message)


def _delimiter_at(body: bytes, delimiter: bytes, start: int) -> tuple[int, int, bool]:
    """Find the next delimiter line at or after ``start``: (line start, next line, is_close)."""
    pos = start
    while True:
        if pos == 0 and body.startswith(delimiter):
            hit = 0
        else:
            found = body.find(b"\r\n" + delimiter, max(pos - 2, 0))
            if found < 0:
                raise MalformedSmime("boundary delimiter not found (truncated message?)")
            hit = found + 2
        after = hit + len(delimiter)
        end = body.find(b"\r\n", after)
        rest = body[after:] if end < 0 else body[after:end]
        closing = rest.startswith(b"--")
        if closing or not rest.strip(b" \t"):  # RFC 2046: only LWSP may follow a delimiter
            return hit, (len(body) if end < 0 else end + 2), closing
        pos = after  # a longer boundary that merely starts with ours: keep looking


def split_signed(message: bytes) -> SignedParts:
    """Split a multipart/signed message into signed content and signature; raise on malformed."""
    data = canonicalize(message)
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        raise MalformedSmime("no header/body separator")
    headers = BytesHeaderParser(policy=compat32).parsebytes(data[: head_end + 2])
    if headers.get_content_type() != "multipart/signed":
        raise MalformedSmime(f"not multipart/signed but {headers.get_content_type()}")
    boundary = headers.get_param("boundary")
    protocol = str(headers.get_param("protocol") or "").lower()
    if not isinstance(boundary, str) or not boundary:
        raise MalformedSmime("multipart/signed without a boundary")
    body = data[head_end + 4 :]
    delimiter = b"--" + boundary.encode("ascii", "replace")
    _, first, _ = _delimiter_at(body, delimiter, 0)
    second_line, second, closing = _delimiter_at(body, delimiter, first)
    if closing:
        raise MalformedSmime("multipart/signed has one part only")
    content = body[first : second_line - 2]  # the CRLF before the delimiter is not content
    close_line, _, _ = _delimiter_at(body, delimiter, second)
    sig_part = body[second : close_line - 2]
    sep = sig_part.find(b"\r\n\r\n")
    if sep < 0:
        raise MalformedSmime("signature part without headers")
    sig_headers = BytesHeaderParser(policy=compat32).parsebytes(sig_part[: sep + 2])
    if sig_headers.get_content_type() not in _SIGNATURE_TYPES:
        raise MalformedSmime(f"second part is {sig_headers.get_content_type()}")
    payload = sig_part[sep + 4 :]
    cte = str(sig_headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        try:
            payload = binascii.a2b_base64(re.sub(rb"\s+", b"", payload))
        except binascii.Error as exc:
            raise MalformedSmime(f"signature part is not base64: {exc}") from exc
    micalg = str(headers.get_param("micalg") or "").lower()
    return SignedParts(content=content, signature=payload, protocol=protocol, micalg=micalg)


def verify(
    message: bytes, trust: TrustStore, *, at: dt.datetime | None = None
) -> SignatureVerdict:
    """Verify a raw S/MIME signed message; never raises (malformed → ``MALFORMED`` verdict).

    ``at`` overrides the validation time (default: the signingTime attribute).
    """
    if len(message) > MAX_MESSAGE_BYTES:
        return fail(Failure.MALFORMED, f"message too large: {len(message)} bytes")
    try:
        parts = split_signed(message)
    except MalformedSmime as exc:
        failure = Failure.UNSIGNED if "not multipart/signed" in str(exc) else Failure.MALFORMED
        return fail(failure, str(exc))
    try:
        info = cms.ContentInfo.load(parts.signature)
        if info["content_type"].native != "signed_data":
            return fail(Failure.MALFORMED, f"signature is {info['content_type'].native}")
        signed_data = info["content"]
        if signed_data["encap_content_info"]["content"].native is not None:
            return fail(Failure.MALFORMED, "S/MIME signature is not detached")
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return fail(Failure.MALFORMED, f"unreadable CMS signature: {exc!r}")
    verdicts = verify_signed_data(signed_data, parts.content, trust, at=at, cades=False)
    return next((v for v in verdicts if not v.ok), verdicts[0])
