"""Read the text back out of an uncompressed fpdf2 PDF (core fonts, ``(...) Tj`` operators).

Enough to prove the text is extractable without adding a PDF parser dependency: fpdf2 writes
each cell as one literal string in WinAnsiEncoding (Windows-1252).
"""

from __future__ import annotations

import re

_TJ = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESC = re.compile(rb"\\([nrtbf()\\]|[0-7]{1,3})")
_MAP = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(m: re.Match[bytes]) -> bytes:
    g = m.group(1)
    if g[:1].isdigit():
        return bytes([int(g, 8) & 0xFF])
    return _MAP.get(g, g)


def pdf_strings(pdf: bytes) -> list[str]:
    """Every string shown with ``Tj``, in content order, decoded from Windows-1252."""
    return [_ESC.sub(_unescape, raw).decode("cp1252") for raw in _TJ.findall(pdf)]


def pdf_text(pdf: bytes) -> str:
    """All shown strings joined by single spaces: a cell wrapped over several lines (one
    ``Tj`` each, split at blanks) reads back as the original text."""
    return " ".join(" ".join(pdf_strings(pdf)).split())
