"""Split MIME entities on their raw bytes, without re-serialising anything.

The stdlib ``email`` package parses into objects and regenerates bytes that are not always
identical to the input. Two PEC pieces must stay byte-exact: the content covered by the S/MIME
signature of ``multipart/signed`` (RFC 1847/8551: the first body part, headers included) and the
``postacert.eml`` kept as evidence (domain.md §4.2). This module cuts them out of the original
bytes; decoding of leaves is left to ``email``.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email._policybase import Compat32
from email.message import Message
from email.parser import BytesHeaderParser

__all__ = [
    "LENIENT_POLICY",
    "MimeStructureError",
    "RawEntity",
    "decode_transfer_encoding",
    "parse_entity",
    "split_multipart",
]


class MimeStructureError(ValueError):
    """A multipart body whose boundaries are missing or never closed (e.g. a truncated mail)."""


#: A byte that was not UTF-8, as the ``surrogateescape`` decoding of the header bytes left it.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


class _LenientCompat32(Compat32):
    """compat32, except that header values are always ``str``.

    Plain compat32 returns an ``email.header.Header`` object for a header that contained
    non-ASCII bytes, and every ``str``-expecting API (``get_content_type``, ``get_filename``...)
    then raises AttributeError: one stray byte in a header would crash the parser. Raw header
    bytes are read as UTF-8 here, invalid sequences replaced.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        # A regex scan, not a per-character generator: every header read goes through here.
        if isinstance(value, str) and _ESCAPED_BYTE.search(value):
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return value


#: The email policy every pecora MIME parse uses (compat32 semantics, never a Header object).
LENIENT_POLICY = _LenientCompat32()


@dataclass(frozen=True, slots=True)
class RawEntity:
    """One MIME entity: its exact bytes, its parsed headers and the exact bytes of its body."""

    raw: bytes
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def filename(self) -> str | None:
        """``Content-Disposition`` filename, else the ``Content-Type`` name parameter (raw)."""
        name = self.headers.get_filename() or self.headers.get_param("name")
        if isinstance(name, tuple):  # an RFC 2231 triple the caller did not collapse
            name = name[2]
        return name if isinstance(name, str) else None


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_entity(raw: bytes) -> RawEntity:
    """Cut ``raw`` into headers and body at the first empty line (no empty line: no body)."""
    if raw.startswith((b"\r\n", b"\n")):  # no headers at all
        head, body = b"", raw[2 if raw.startswith(b"\r\n") else 1 :]
    else:
        match = _HEADER_END.search(raw)
        head, body = (raw, b"") if match is None else (raw[: match.start()], raw[match.end() :])
    headers = BytesHeaderParser(policy=LENIENT_POLICY).parsebytes(head + b"\n\n")
    return RawEntity(raw=raw, headers=headers, body=body)


def split_multipart(entity: RawEntity) -> list[RawEntity]:
    """The body parts of a multipart entity, each byte-exact.

    Per RFC 2046 §5.1.1 the line break before a delimiter belongs to the delimiter, so a part's
    bytes end just before it. Raise `MimeStructureError` when the entity is not multipart, has
    no boundary parameter, no delimiter, or no closing delimiter (truncation).
    """
    if not entity.headers.get_content_maintype() == "multipart":
        raise MimeStructureError(f"{entity.content_type} is not multipart")
    boundary = entity.headers.get_boundary()
    if not boundary:
        raise MimeStructureError("multipart entity without a boundary")
    body = entity.body
    parts: list[RawEntity] = []
    start: int | None = None
    for begin, end, closing in _delimiters(body, b"--" + boundary.encode("latin-1", "replace")):
        if start is not None:
            parts.append(parse_entity(body[start:begin]))
        if closing:
            if start is None:
                break
            return parts
        start = end
    if start is None:
        raise MimeStructureError(f"multipart body has no delimiter for boundary {boundary!r}")
    raise MimeStructureError(f"multipart body is not closed (boundary {boundary!r}): truncated?")


def _delimiters(body: bytes, dash_boundary: bytes) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, closing)`` of each delimiter line, left to right, not overlapping.

    What ``re.finditer(rb"(?:^|\r?\n)--B(--)?[ \t]*(?:\r?\n|$)")`` finds, by ``bytes.find``:
    a regex per boundary costs a compile per message and scans the body position by
    position. The line break before a delimiter belongs to it; a boundary followed by
    anything but ``--``, blanks and the line end is a longer boundary, not this one (real
    PEC boundaries differ only in their last digit, e.g. ...-9178 and ...-9179).
    """
    pos, size = 0, len(body)
    at = body.find(dash_boundary)
    while at != -1:
        if at == 0 and pos == 0:
            begin = 0
        elif at >= 2 and at - 2 >= pos and body[at - 2 : at] == b"\r\n":
            begin = at - 2
        elif at >= 1 and at - 1 >= pos and body[at - 1 : at] == b"\n":
            begin = at - 1
        else:
            at = body.find(dash_boundary, at + 1)
            continue
        after = at + len(dash_boundary)
        closing = body.startswith(b"--", after)
        end = after + 2 if closing else after
        while end < size and body[end] in b" \t":
            end += 1
        if body.startswith(b"\r\n", end):
            end += 2
        elif body.startswith(b"\n", end):
            end += 1
        elif end != size:
            at = body.find(dash_boundary, at + 1)
            continue
        yield begin, end, closing
        pos = end
        at = body.find(dash_boundary, end)


def decode_transfer_encoding(entity: RawEntity) -> bytes:
    """The body with its Content-Transfer-Encoding undone (7bit/8bit/binary are identity).

    Strict on base64 garbage (`MimeStructureError`), unlike ``email``'s silent best effort:
    this is used for parts whose bytes are evidence.
    """
    encoding = (entity.headers.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if encoding in ("7bit", "8bit", "binary"):
        return entity.body
    if encoding == "base64":
        compact = re.sub(rb"\s+", b"", entity.body)
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MimeStructureError(f"bad base64 body: {exc}") from exc
    if encoding == "quoted-printable":
        return quopri.decodestring(entity.body)
    raise MimeStructureError(f"unknown Content-Transfer-Encoding {encoding!r}")
