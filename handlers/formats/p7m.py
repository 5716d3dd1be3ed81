"""Read, verify and write CAdES ``.p7m`` files: one decoder for every variant seen in the wild.

`unwrap` peels transport encodings (base64 with/without line breaks or CRLF, PEM armour, double
base64) and CMS layers (DER, BER with indefinite lengths, chunked eContent, p7m inside p7m)
until the payload is reached (domain.md §5.2, peers-sdi.md (c)3). Malformed input raises
`MalformedP7m`; recursion and sizes are bounded. `verify` runs the CAdES-BES checklist of
domain.md §5.2 on every signer of every layer (see `cms_verify`); `sign_cades_bes` writes one.
"""

from __future__ import annotations

import binascii
import datetime as dt
import enum
import re
from dataclasses import dataclass

from asn1crypto import cms, core
from asn1crypto import parser as asn1_parser

from handlers.formats.cms_sign import sign_cades_bes
from handlers.formats.cms_verify import verify_signed_data
from handlers.formats.sig_common import (
    Failure,
    Pkcs12Signer,
    SignatureVerdict,
    Signer,
)
from handlers.formats.trust import TrustStore

__all__ = [
    "Encoding",
    "Failure",
    "Layer",
    "MalformedP7m",
    "Pkcs12Signer",
    "SignatureVerdict",
    "Signer",
    "TrustStore",
    "Unwrapped",
    "sign_cades_bes",
    "unwrap",
    "verify",
    "verify_all",
]

#: Largest input accepted: a PEC message is capped at 30 MB, base64 adds a third.
MAX_P7M_BYTES = 48 * 1024 * 1024
#: Most decoding steps (base64/PEM/CMS) peeled in total; real files need 1–3.
MAX_STEPS = 8

_SIGNED_DATA_OID = "1.2.840.113549.1.7.2"
_B64_ALPHABET = re.compile(rb"[A-Za-z0-9+/=]+")
_B64_URLSAFE = re.compile(rb"[A-Za-z0-9\-_=]+")
_WS_BYTES = b" \t\r\n\v\f"
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
# A ContentInfo{signedData} starts 30 <len> 06 09 2A864886F70D010702 whatever the length form.
_SIGNED_DATA_OID_DER = bytes.fromhex("06092a864886f70d010702")


class MalformedP7m(ValueError):
    """The input is not a readable enveloping CMS SignedData (truncated, corrupted, not a p7m)."""


class Encoding(enum.Enum):
    """How one layer was found: the transport encoding peeled or the CMS form parsed."""

    BASE64 = "base64"
    PEM = "pem"
    DER = "der"
    BER = "ber"  # indefinite lengths and/or constructed (chunked) eContent


@dataclass(frozen=True, slots=True)
class Layer:
    """One CMS SignedData layer, outermost first, with the encodings peeled to reach it."""

    encodings: tuple[Encoding, ...]
    signed_data: cms.SignedData
    content_type: str
    trailing_bytes: int  # bytes after the end of the ContentInfo (ignored, but recorded)


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The innermost payload (e.g. FatturaPA XML bytes, untouched) and the layers around it."""

    content: bytes
    layers: tuple[Layer, ...]

    @property
    def signed_data(self) -> cms.SignedData:
        """The outermost SignedData."""
        return self.layers[0].signed_data


def _looks_like_cms(data: bytes) -> bool:
    # Header is 2–6 bytes (tag, length incl. indefinite 0x80); the OID follows immediately.
    return len(data) > 12 and data[0] == 0x30 and _SIGNED_DATA_OID_DER in data[2:17]


def _decode_text(data: bytes) -> tuple[bytes, Encoding] | None:
    """Peel one text encoding (PEM armour or bare base64), or None if ``data`` is neither."""
    head = data[:64].lstrip()
    if head.startswith(b"-----BEGIN"):
        match = _PEM.search(data)
        if match is None:
            raise MalformedP7m("PEM armour without a matching END line (truncated?)")
        body = match.group(2)
        # RFC 7468 allows (ignored) "Name: value" explanatory headers in legacy PEM.
        body = b"\n".join(ln for ln in body.splitlines() if b":" not in ln)
        return _b64(body.translate(None, _WS_BYTES), Encoding.PEM), Encoding.PEM
    if not data or data[0] in b"<\xef\xfe\xff":  # XML / BOM: a payload, never base64
        return None
    compact = data.translate(None, _WS_BYTES)  # line breaks, CRLF, spaces (wrapped or not)
    if not compact:
        return None
    try:
        return _b64(compact), Encoding.BASE64
    except MalformedP7m:
        if _B64_URLSAFE.fullmatch(compact) and not _B64_ALPHABET.fullmatch(compact):
            return _b64(compact.replace(b"-", b"+").replace(b"_", b"/")), Encoding.BASE64
        if _B64_ALPHABET.fullmatch(compact):
            raise  # base64 alphabet but undecodable: truncated/corrupted base64 p7m
        return None


def _b64(compact: bytes, how: Encoding = Encoding.BASE64) -> bytes:
    if b"=" not in compact[-2:]:
        compact += b"=" * (-len(compact) % 4)  # peers sometimes strip the padding
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise MalformedP7m(f"{how.value} text is not valid base64: {exc}") from exc


def _parse_cms(data: bytes) -> tuple[cms.SignedData, bytes, str, Encoding, int]:
    """Parse one ContentInfo{SignedData}; return it, its eContent, type, form, trailing bytes."""
    try:
        ci = cms.ContentInfo.load(data)
        if ci["content_type"].dotted != _SIGNED_DATA_OID:
            raise MalformedP7m(f"ContentInfo is {ci['content_type'].native}, not signedData")
        sd = ci["content"]
        eci = sd["encap_content_info"]
        content_type = eci["content_type"].native
        econtent = eci["content"]
        if isinstance(econtent, core.Void):
            raise MalformedP7m("detached signature: the p7m carries no eContent")
        # bytes() merges the chunks of a constructed OCTET STRING (BER, 1000-byte chunks).
        payload = bytes(econtent)
        form = Encoding.BER if econtent.method or data[1] == 0x80 else Encoding.DER
        _, _, _, header, body, trailer = asn1_parser.parse(data)
        trailing = len(data) - len(header) - len(body) - len(trailer)
    except MalformedP7m:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/… on corrupt input
        raise MalformedP7m(f"not a readable CMS SignedData: {exc}") from exc
    if not isinstance(payload, bytes):
        raise MalformedP7m("eContent is not an OCTET STRING")
    return sd, payload, content_type or "", form, trailing


def unwrap(data: bytes) -> Unwrapped:
    """Return the payload of a p7m in any of its encodings, recursively; raise `MalformedP7m`."""
    if len(data) > MAX_P7M_BYTES:
        raise MalformedP7m(f"p7m too large: {len(data)} bytes (limit {MAX_P7M_BYTES})")
    layers: list[Layer] = []
    peeled: list[Encoding] = []
    current = data
    for _ in range(MAX_STEPS):
        if _looks_like_cms(current):
            sd, payload, ctype, form, trailing = _parse_cms(current)
            layers.append(Layer((*peeled, form), sd, ctype, trailing))
            peeled = []
            current = payload
            continue
        try:
            step = _decode_text(current)
        except MalformedP7m:
            if layers:  # the payload merely looked like text encoding: it is the content
                break
            raise
        if step is None:
            break
        decoded, how = step
        if layers and not _looks_like_cms(decoded) and _decode_text_safe(decoded) is None:
            break  # inner content that happens to be base64-ish, not a nested p7m
        peeled.append(how)
        current = decoded
    else:
        raise MalformedP7m(f"more than {MAX_STEPS} nested encodings/layers")
    if not layers:
        raise MalformedP7m("no CMS SignedData found (not DER/BER, base64 or PEM p7m)")
    if peeled:
        raise MalformedP7m("payload after the last layer is encoded text, not content")
    return Unwrapped(content=current, layers=tuple(layers))


def _decode_text_safe(data: bytes) -> tuple[bytes, Encoding] | None:
    try:
        step = _decode_text(data)
    except MalformedP7m:
        return None
    if step is None or not (_looks_like_cms(step[0]) or _decode_text_safe(step[0])):
        return None
    return step


def verify_all(
    data: bytes | Unwrapped, trust: TrustStore, *, at: dt.datetime | None = None
) -> tuple[SignatureVerdict, ...]:
    """One verdict per signer per layer, outermost layer first (raises `MalformedP7m`)."""
    unwrapped = data if isinstance(data, Unwrapped) else unwrap(data)
    verdicts: list[SignatureVerdict] = []
    for index, layer in enumerate(unwrapped.layers):
        inner = (
            unwrapped.layers[index + 1] if index + 1 < len(unwrapped.layers) else None
        )
        # The signed content of a layer is its own eContent: the inner p7m bytes or the payload.
        content = _econtent(layer) if inner is not None else unwrapped.content
        verdicts.extend(verify_signed_data(layer.signed_data, content, trust, at=at))
    return tuple(verdicts)


def _econtent(layer: Layer) -> bytes:
    return bytes(layer.signed_data["encap_content_info"]["content"])


def verify(
    data: bytes | Unwrapped, trust: TrustStore, *, at: dt.datetime | None = None
) -> SignatureVerdict:
    """Verify a p7m: the first failing signer's verdict, else the outermost signer's.

    ``at`` overrides the validation time (default: each signer's signingTime attribute, so
    a 2018 signature with a certificate that expired in 2021 is still valid).
    """
    verdicts = verify_all(data, trust, at=at)
    for verdict in verdicts:
        if not verdict.ok:
            return verdict
    return verdicts[0]


