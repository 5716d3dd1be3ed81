"""Allegati: list and extract the attachments of an invoice with safe file names.

``NomeAttachment`` comes from the sender and ends up as a file name on our disk, so it is
sanitised here (own helper, independent of ``handlers.formats.filenames``): no directories
(``../``, absolute paths, drive letters, backslashes), no control characters, no leading dots,
at most 100 characters keeping the extension, never empty, unique within one invoice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .model import FatturaElettronica

MAX_NAME = 100
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*]')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")


@dataclass(frozen=True, slots=True)
class ExtractedAttachment:
    """One decoded attachment with a name safe to use as a file name."""

    body_index: int  # 1-based FatturaElettronicaBody
    safe_name: str
    original_name: str
    data: bytes
    compression: str | None
    format: str | None
    description: str | None


def _safe_name(name: str, fallback: str = "allegato") -> str:
    """A file name with no path, no control characters, ≤ 100 chars, extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # drop any directory part
    name = _UNSAFE.sub("", name).strip().strip(".").strip()
    if not name or _RESERVED.match(name):
        name = f"{fallback}_{name}" if name else fallback
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10 and stem:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        stem, dot, ext = name.rpartition(".")
        suffix = f"_{n}"
        if dot and stem:
            candidate = f"{stem[: MAX_NAME - len(ext) - 1 - len(suffix)]}{suffix}.{ext}"
        else:
            candidate = f"{name[: MAX_NAME - len(suffix)]}{suffix}"
    taken.add(candidate.lower())
    return candidate


def extract_attachments(invoice: FatturaElettronica) -> list[ExtractedAttachment]:
    """Every ``Allegati`` of every body, decoded, with unique safe names."""
    out: list[ExtractedAttachment] = []
    taken: set[str] = set()
    for i, body in enumerate(invoice.bodies, 1):
        for n, a in enumerate(body.allegati, 1):
            name = _unique(_safe_name(a.nome_attachment or "", f"allegato_{i}_{n}"), taken)
            out.append(ExtractedAttachment(i, name, a.nome_attachment, a.attachment or b"",
                                           a.algoritmo_compressione, a.formato_attachment,
                                           a.descrizione_attachment))
    return out
