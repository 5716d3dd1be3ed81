"""The presentation model shared by the renderers: titled blocks of display strings.

`view` and `body` fill it from the invoice model; `html` and `pdf` lay it out. Only strings
live here (already formatted, not yet escaped): escaping is the output format's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import fmt


@dataclass(frozen=True, slots=True)
class Fields:
    """Label/value pairs (a definition list)."""

    title: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A table; ``numeric`` columns are right-aligned, ``widths`` are relative (PDF)."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int]
    widths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Notes:
    """Free text paragraphs (Causale, warnings)."""

    title: str
    paragraphs: tuple[str, ...]


Block = Fields | Table | Notes


@dataclass(frozen=True, slots=True)
class DocumentView:
    """One body: heading (``Fattura n. 123 del 18/01/2017``), total, blocks."""

    heading: str
    total: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """The whole file: title, transmission data, parties, one document per body."""

    title: str
    transmission: Block
    parties: tuple[Block, ...]
    documents: tuple[DocumentView, ...]


MISSING = "Dati mancanti o non leggibili in questa sezione del file."


def guard(title: str, build: Callable[[], Block | None]) -> Block | None:
    # Broken input has None where the model promises an object: say so, keep rendering.
    try:
        return build()
    except (AttributeError, TypeError, ValueError, ArithmeticError):
        return Notes(title, (MISSING,))


def blocks(*pairs: tuple[str, Callable[[], Block | None]]) -> tuple[Block, ...]:
    return tuple(b for title, build in pairs if (b := guard(title, build)) is not None)


def kv(*items: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in items if v not in (None, "", fmt.EMPTY))


