"""Build, validate and parse SdI file names; sanitise untrusted attachment names.

SdI file names are part of the protocol (domain.md §2): the invoice file name is the primary
correlation key for every SdI message, a wrong name is discarded with error 00001 and a name can
never be reused (00002). Attachment names, on the other hand, come from strangers and must be made
safe before anything else (storage, logs, chat) sees them.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "INVOICE_EXTENSIONS",
    "PROGRESSIVE_ALPHABET",
    "PROGRESSIVE_CAPACITY",
    "InvalidFileName",
    "InvoiceFileName",
    "NotificationFileName",
    "NotificationType",
    "build_invoice_file_name",
    "decode_progressive",
    "encode_progressive",
    "invoice_stem",
    "is_valid_invoice_file_name",
    "notification_file_name",
    "parse_invoice_file_name",
    "parse_notification_file_name",
    "safe_filename",
]


class InvalidFileName(ValueError):
    """A name does not follow the SdI naming rule (what SdI would discard with 00001)."""


# ---------------------------------------------------------------------------------------------
# Invoice file names: <IdPaese><IdCodice>_<progressivo>.<ext>   (domain.md §2)
# ---------------------------------------------------------------------------------------------

#: Extensions SdI accepts for an invoice file, longest first so ``.xml.p7m`` wins over ``.xml``.
INVOICE_EXTENSIONS: tuple[str, ...] = (".xml.p7m", ".xml", ".zip")

# The SdI naming rule (fatturapa.gov.it "Predisporre la FatturaPA", Allegato A §1.2.2): IdCodice
# is 11..16 chars for IT (11-digit company code / P.IVA or 16-char personal codice fiscale) and
# 2..28 chars for any other country. SdI checks only the shape, never the value.
_IT_ID_CODICE = re.compile(r"[A-Za-z0-9]{11,16}")
_FOREIGN_ID_CODICE = re.compile(r"[A-Za-z0-9]{2,28}")
_COUNTRY = re.compile(r"[A-Z]{2}")
# The spec says A-Z 0-9, but real, SdI-accepted files use lower case too (`6zZcm`, `x05mX`,
# domain.md §2 [V]); we accept both when reading and only emit upper case (see encode_progressive).
_PROGRESSIVE = re.compile(r"[A-Za-z0-9]{1,5}")
_INVOICE_NAME = re.compile(
    r"(?P<country>[A-Z]{2})(?P<id_codice>[A-Za-z0-9]{2,28})_(?P<progressive>[A-Za-z0-9]{1,5})"
    r"(?P<extension>\.xml\.p7m|\.xml|\.zip)"
)


@dataclass(frozen=True, slots=True)
class InvoiceFileName:
    """The parts of a valid invoice file name, e.g. ``IT01234567890_00001.xml.p7m``."""

    country: str
    id_codice: str
    progressive: str
    extension: str

    @property
    def stem(self) -> str:
        """The name without extension: what SdI message names are built on."""
        return f"{self.country}{self.id_codice}_{self.progressive}"

    def __str__(self) -> str:
        return self.stem + self.extension


def _check_id_codice(country: str, id_codice: str) -> None:
    pattern = _IT_ID_CODICE if country == "IT" else _FOREIGN_ID_CODICE
    if not pattern.fullmatch(id_codice):
        limits = "11..16" if country == "IT" else "2..28"
        raise InvalidFileName(
            f"IdCodice {id_codice!r} must be {limits} letters/digits for country {country}"
        )


def parse_invoice_file_name(name: str) -> InvoiceFileName:
    """Split an invoice file name into its parts; raise `InvalidFileName` if SdI would refuse it."""
    match = _INVOICE_NAME.fullmatch(name)
    if match is None:
        raise InvalidFileName(f"not an SdI invoice file name: {name!r}")
    country, id_codice = match["country"], match["id_codice"]
    _check_id_codice(country, id_codice)
    return InvoiceFileName(country, id_codice, match["progressive"], match["extension"])


def is_valid_invoice_file_name(name: str) -> bool:
    """True if ``name`` follows the SdI naming rule for an invoice/archive file."""
    try:
        parse_invoice_file_name(name)
    except InvalidFileName:
        return False
    return True


def build_invoice_file_name(
    country: str, id_codice: str, progressive: str | int, extension: str = ".xml"
) -> str:
    """Return ``<country><id_codice>_<progressive><extension>``, validated.

    An integer ``progressive`` is encoded with `encode_progressive` (fixed 5 chars).
    """
    if not _COUNTRY.fullmatch(country):
        raise InvalidFileName(f"country code must be two upper-case letters: {country!r}")
    _check_id_codice(country, id_codice)
    prog = encode_progressive(progressive) if isinstance(progressive, int) else progressive
    if not _PROGRESSIVE.fullmatch(prog):
        raise InvalidFileName(f"progressive must be 1..5 letters/digits: {prog!r}")
    if extension not in INVOICE_EXTENSIONS:
        raise InvalidFileName(f"extension must be one of {INVOICE_EXTENSIONS}: {extension!r}")
    return f"{country}{id_codice}_{prog}{extension}"


# ---------------------------------------------------------------------------------------------
# Progressive counter <-> 5-char string
# ---------------------------------------------------------------------------------------------

#: Alphabet of the progressive, in ascending order: digits then upper-case letters (base 36).
#: Upper case only, so two progressives never differ by case alone (case-insensitive file
#: systems, domain.md §2). Fixed width 5 and ASCII order make the string order equal the
#: numeric order, and the mapping is a bijection on [0, 36**5): distinct counters never collide.
PROGRESSIVE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WIDTH = 5
#: Number of distinct progressives (60,466,176); counters are 0 .. PROGRESSIVE_CAPACITY - 1.
PROGRESSIVE_CAPACITY = len(PROGRESSIVE_ALPHABET) ** _WIDTH


def encode_progressive(counter: int) -> str:
    """Encode ``counter`` (0 .. 36**5-1) as a fixed 5-char base-36 string: 0 → ``00000``,
    35 → ``0000Z``, 36 → ``00010``. Raise `ValueError` outside the range (never wrap around:
    a reused name is refused by SdI forever, 00002)."""
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise TypeError(f"counter must be an int, not {type(counter).__name__}")
    if not 0 <= counter < PROGRESSIVE_CAPACITY:
        raise ValueError(f"counter {counter} outside 0..{PROGRESSIVE_CAPACITY - 1}")
    base = len(PROGRESSIVE_ALPHABET)
    digits = []
    for _ in range(_WIDTH):
        counter, rest = divmod(counter, base)
        digits.append(PROGRESSIVE_ALPHABET[rest])
    return "".join(reversed(digits))


def decode_progressive(progressive: str) -> int:
    """Inverse of `encode_progressive` (accepts 1..5 chars of the alphabet, upper case only)."""
    if not 1 <= len(progressive) <= _WIDTH:
        raise ValueError(f"progressive must be 1..5 chars: {progressive!r}")
    value = 0
    for char in progressive:
        index = PROGRESSIVE_ALPHABET.find(char)
        if index < 0:
            raise ValueError(f"{char!r} is not in the progressive alphabet (0-9, A-Z)")
        value = value * len(PROGRESSIVE_ALPHABET) + index
    return value


# ---------------------------------------------------------------------------------------------
# SdI message names: <invoice stem>_<TT>_<nnn>.xml   (domain.md §2)
# ---------------------------------------------------------------------------------------------


class NotificationType(StrEnum):
    """The two-letter type in an SdI message file name (domain.md §3.1)."""

    RC = "RC"  # ricevuta di consegna
    NS = "NS"  # notifica di scarto
    MC = "MC"  # mancata consegna
    NE = "NE"  # notifica esito (EC forwarded to the transmitter)
    MT = "MT"  # metadati (with an incoming invoice)
    EC = "EC"  # esito committente (PA recipient -> SdI)
    SE = "SE"  # scarto esito committente
    DT = "DT"  # decorrenza termini
    AT = "AT"  # attestazione di avvenuta trasmissione con impossibilità di recapito


_NOTIFICATION_NAME = re.compile(
    r"(?P<stem>(?P<country>[A-Z]{2})(?P<id_codice>[A-Za-z0-9]{2,28})_"
    r"(?P<progressive>[A-Za-z0-9]{1,5}))"
    r"_(?P<type>RC|NS|MC|NE|MT|EC|SE|DT|AT)_(?P<counter>[A-Za-z0-9]{3})"
    # AT arrives as a zip holding the invoice and the AT XML (domain.md §2 [C]).
    r"(?P<extension>\.xml|\.zip)"
)


@dataclass(frozen=True, slots=True)
class NotificationFileName:
    """The parts of an SdI message name such as ``IT01234567890_11111_RC_001.xml``.

    ``counter`` is the 3-char progressive that counts *all* messages about the invoice file, not
    the messages of one type (``_MT_002``, ``_RC_003`` are real first messages of their type,
    domain.md §2 [V]); never assume ``001``.
    """

    invoice_stem: str
    country: str
    id_codice: str
    progressive: str
    type: NotificationType
    counter: str
    extension: str

    def __str__(self) -> str:
        return f"{self.invoice_stem}_{self.type}_{self.counter}{self.extension}"


def parse_notification_file_name(name: str) -> NotificationFileName:
    """Split an SdI message file name; raise `InvalidFileName` if it is not one."""
    match = _NOTIFICATION_NAME.fullmatch(name)
    if match is None:
        raise InvalidFileName(f"not an SdI message file name: {name!r}")
    _check_id_codice(match["country"], match["id_codice"])
    return NotificationFileName(
        invoice_stem=match["stem"],
        country=match["country"],
        id_codice=match["id_codice"],
        progressive=match["progressive"],
        type=NotificationType(match["type"]),
        counter=match["counter"],
        extension=match["extension"],
    )


def invoice_stem(file_name: str) -> str:
    """The invoice file name without ``.xml.p7m`` / ``.xml`` / ``.zip``.

    For a ``.xml.p7m`` invoice the SdI message name drops the whole double extension
    (domain.md §2), so this is what message names are matched against.
    """
    return parse_invoice_file_name(file_name).stem


_COUNTER = re.compile(r"[A-Za-z0-9]{3}")


def notification_file_name(
    invoice_file_name: str, kind: NotificationType | str, counter: int | str
) -> str:
    """Name of an SdI message about ``invoice_file_name``: ``<stem>_<kind>_<nnn>.xml``.

    An integer ``counter`` (1..999) is written as 3 zero-padded digits, as in every real name
    we have seen; a string counter must already be 3 letters/digits.
    """
    kind = NotificationType(kind)
    if isinstance(counter, bool):
        raise TypeError("counter must be an int or a 3-char string")
    if isinstance(counter, int):
        if not 1 <= counter <= 999:
            raise ValueError(f"counter {counter} outside 1..999")
        text = f"{counter:03d}"
    else:
        if not _COUNTER.fullmatch(counter):
            raise InvalidFileName(f"counter must be 3 letters/digits: {counter!r}")
        text = counter
    extension = ".zip" if kind is NotificationType.AT else ".xml"
    return f"{invoice_stem(invoice_file_name)}_{kind}_{text}{extension}"


# ---------------------------------------------------------------------------------------------
# Untrusted attachment names
# ---------------------------------------------------------------------------------------------

_MAX_NAME = 100
_FALLBACK = "attachment"
# Characters that are unsafe or awkward on common file systems and shells.
_UNSAFE_CHARS = re.compile(r'[<>:"|?*\\/]')
# A compound extension worth keeping whole when truncating (invoice files are .xml.p7m).
_EXTENSION = re.compile(r"(\.[A-Za-z0-9]{1,8}){1,2}$")
# Device names Windows resolves whatever the extension ("NUL.xml" is the null device).
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)]
)


def safe_filename(
    name: str | None, *, fallback: str = _FALLBACK, max_length: int = _MAX_NAME
) -> str:
    """Return a harmless base name for an attachment name chosen by a stranger.

    Strips directory parts (``/`` and ``\\``, so absolute paths and ``..`` disappear), control
    and format characters (NUL, CR/LF, bidi overrides), characters unsafe on Windows, leading
    dots (no hidden files, no ``..``) and surrounding blanks; caps the length at ``max_length``
    characters keeping the extension (e.g. ``.xml.p7m``); never returns an empty string.
    Valid SdI names pass through unchanged.
    """
    if max_length < 16:
        raise ValueError("max_length must be at least 16")
    text = unicodedata.normalize("NFC", name or "")
    # Directory parts: treat both separators as such, keep only the last component.
    text = posixpath.basename(text.replace("\\", "/"))
    # Cc = controls (NUL, CR, LF, DEL...), Cf = format chars (bidi overrides, zero-width),
    # Cs/Co/Cn = surrogates (from undecodable bytes), private use, unassigned.
    text = "".join(c for c in text if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    text = _UNSAFE_CHARS.sub("_", text)
    text = text.strip().lstrip(".").strip()
    text = text.rstrip(". ")  # Windows drops trailing dots/blanks: "a.xml." would alias "a.xml"
    if not text:
        return fallback
    if len(text) > max_length:
        match = _EXTENSION.search(text)
        extension = match.group(0) if match and len(match.group(0)) < max_length // 2 else ""
        text = text[: max_length - len(extension)].rstrip(". ") + extension
    if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        text = "_" + text[: max_length - 1]
    return text or fallback
