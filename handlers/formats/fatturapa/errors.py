"""Exceptions and the `Finding` record shared by the reader and the validators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation result. ``code`` is the SdI error code (00200 = schema/format)."""

    code: str
    xpath: str
    message_it: str
    message_en: str
    severity: Severity = "error"


class FatturaPAError(ValueError):
    """Base class: these bytes cannot be turned into a FatturaPA 1.2 model."""


class InvalidXml(FatturaPAError):
    """Not well-formed, or refused by the safe parser (DOCTYPE, entities, size)."""


class NotAnInvoice(FatturaPAError):
    """Well-formed XML whose root is not a FatturaPA invoice."""


class BrokenNamespace(FatturaPAError):
    """Looks like FatturaPA but the root namespace is wrong/missing (e.g. a space inside it)."""


class UnsupportedFormat(FatturaPAError):
    """A recognised invoice format pecora does not model (legacy 1.1, simplified FSM10, p7m)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  #: the `FormatKind` value, e.g. "legacy-1.1" or "FSM10"
