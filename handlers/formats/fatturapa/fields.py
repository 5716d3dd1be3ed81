"""Field declarations that tie each model attribute to its XML element (name, type, cardinality).

The model dataclasses declare fields *in XSD sequence order* with `req`, `opt` and `many`; the
reader, the writer and the structural validator are generic walkers over `specs(cls)`, so the
element order, the names and the cardinalities live in exactly one place (the model).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .xsdtypes import SimpleType


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one model attribute maps to XML."""

    name: str  # Python attribute
    xml: str  # element (or attribute) local name
    stype: SimpleType | None  # leaf type, or None for a complex child
    cls: type | None  # dataclass of a complex child
    min: int
    max: int | None  # None = unbounded
    many: bool  # stored as a tuple
    attr: bool = False  # XML attribute rather than element
    default: str | None = None  # XSD element default (Nazione = IT)


def _meta(xml: str, t: SimpleType | type, lo: int, hi: int | None, many: bool,
          attr: bool = False, default: str | None = None) -> dict[str, Any]:
    return {"fpa": (xml, t, lo, hi, many, attr, default)}


def req(xml: str, t: SimpleType | type, *, attr: bool = False, default: str | None = None) -> Any:
    """A mandatory single element (no Python default: the caller must give it)."""
    return dataclasses.field(metadata=_meta(xml, t, 1, 1, False, attr, default))


def opt(xml: str, t: SimpleType | type, *, attr: bool = False) -> Any:
    """An optional single element (None when absent)."""
    return dataclasses.field(default=None, metadata=_meta(xml, t, 0, 1, False, attr))


def many(xml: str, t: SimpleType | type, lo: int = 0, hi: int | None = None) -> Any:
    """A repeated element, stored as a tuple (mandatory ones have no Python default)."""
    if lo:
        return dataclasses.field(metadata=_meta(xml, t, lo, hi, True))
    return dataclasses.field(default=(), metadata=_meta(xml, t, lo, hi, True))


_CACHE: dict[type, tuple[FieldSpec, ...]] = {}


def specs(cls: type) -> tuple[FieldSpec, ...]:
    """The FieldSpecs of a model class, in element order (cached)."""
    got = _CACHE.get(cls)
    if got is None:
        out = []
        for f in dataclasses.fields(cls):
            xml, t, lo, hi, is_many, attr, default = f.metadata["fpa"]
            leaf = isinstance(t, SimpleType)
            out.append(FieldSpec(f.name, xml, t if leaf else None, None if leaf else t,
                                 lo, hi, is_many, attr, default))
        got = _CACHE[cls] = tuple(out)
    return got
