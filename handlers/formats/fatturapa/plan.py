"""Per-class reading plans, compiled once from the model's `FieldSpec`s (the reader's hot path).

A generic walk over field specs pays, per element, a spec lookup, a counts dict, a kwargs dict
and a keyword-argument dataclass call. A `ClassPlan` turns a model class into: tag -> `Slot`
(index, bit, cardinality, sub-plan or leaf reader), a blank value list and a positional
constructor. A `LeafReader` turns an element's text into ``(value, lexical error, sure)``
where ``sure`` means "`xsdtypes.check` accepts this value" — the reader uses it to vouch that
`check_structure` would find nothing, so `validate_bytes` can skip that second walk. ``sure``
may be False for a valid value (the full check then runs), never True for an invalid one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from .fields import FieldSpec, specs
from .model_header import Anagrafica, RappresentanteFiscaleCessionario
from .xsdtypes import SimpleType, check, from_text

#: text -> (value, lexical error or None, value surely passes `check`)
LeafReader = Callable[[str], tuple[Any, "str | None", bool]]

# The two XSD choices (Denominazione XOR Nome+Cognome) that `structure` checks on the object.
_CHOICE = (Anagrafica, RappresentanteFiscaleCessionario)
_DIGITS = re.compile("[0-9]+")


class Slot(NamedTuple):
    """One element child of a class (a NamedTuple: the reader unpacks it in one step)."""

    idx: int  # position in the class's field order (= XSD sequence) and in the value list
    bit: int  # 1 << idx, to remember which singles were seen without a dict
    many: bool
    sub: ClassPlan | None  # complex child
    # simple child: ``accept(text)`` truthy means the text is kept verbatim and surely valid
    # (most strings and codes, tested inline without a call); otherwise ``leaf`` decides
    accept: Callable[[str], object] | None
    leaf: LeafReader | None
    spec: FieldSpec


class ClassPlan(NamedTuple):
    """Everything the reader needs about one model class."""

    cls: type
    children: dict[str, Slot]  # element local name -> slot
    blank: tuple[Any, ...]  # the value of every field when its element is absent
    required: int  # bits of the elements with minOccurs 1 (attributes: the root's job)
    bounds: tuple[tuple[int, int, int | None], ...]  # (idx, min, max): other repeat bounds
    choice: bool  # Denominazione XOR Nome+Cognome applies
    make: Callable[[list[Any]], Any]  # value list (field order; repeats as lists) -> instance


def _accept(st: SimpleType) -> Callable[[str], object] | None:
    if st.kind != "str":
        return None
    if st.enum is not None and st.ws == "preserve":
        # membership alone is enough for the codes that pass every other facet too
        return frozenset(v for v in st.enum if check(st, v) is None).__contains__
    return None if st.accept is None else st.accept.fullmatch


def _leaf_reader(st: SimpleType, default: str | None) -> LeafReader:
    kind = st.kind
    if kind == "str":

        def read_str(text: str) -> tuple[Any, str | None, bool]:
            if text == "" and default is not None:
                return text, None, True  # empty element with an XSD default (Nazione)
            return text, None, check(st, text) is None

        return read_str
    if kind == "dec":
        top = st.max_value
        lexical = st.lexical
        assert lexical is not None

        def read_dec(text: str) -> tuple[Any, str | None, bool]:
            # The lexical patterns bound sign, integer digits and decimals exactly as the value
            # facets do (test_plan.py checks it), so only the maximum remains to compare.
            if lexical.fullmatch(text) is not None:  # no surrounding whitespace: no strip
                value = Decimal(text)
                return value, None, top is None or value <= top
            value, err = from_text(st, text)
            return value, err, err is None and (top is None or value <= top)

        return read_dec
    if kind == "int":
        lo, hi = st.min_int, st.max_int
        assert lo is not None and hi is not None

        def read_int(text: str) -> tuple[Any, str | None, bool]:
            if _DIGITS.fullmatch(text) is not None:  # plain digits: what from_text would do
                value = int(text)
                return value, None, lo <= value <= hi
            value, err = from_text(st, text)
            return value, err, err is None and check(st, value) is None

        return read_int
    if kind == "date" and st.min_date is not None:

        def read_checked(text: str) -> tuple[Any, str | None, bool]:
            value, err = from_text(st, text)
            return value, err, err is None and check(st, value) is None

        return read_checked

    def read_other(text: str) -> tuple[Any, str | None, bool]:
        # date without minimum, dateTime, base64: a successful conversion is a valid value
        value, err = from_text(st, text)
        return value, err, err is None

    return read_other


def _constructor(cls: type, fields: tuple[FieldSpec, ...]) -> Callable[[list[Any]], Any]:
    # Frozen slotted dataclasses set each field through object.__setattr__ from a keyword
    # call; calling the slot descriptors' own setters from straight-line code does the same
    # assignments for a third of the cost. Every field is set, so instances are
    # indistinguishable from cls(**kwargs) ones (the model has no __post_init__).
    # Repeated fields arrive as lists (or the blank ()) and are frozen to tuples here.
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "tuple": tuple}
    lines = ["def make(v):", "    o = new(cls)"]
    for i, fs in enumerate(fields):
        env[f"set{i}"] = getattr(cls, fs.name).__set__
        lines.append(f"    set{i}(o, tuple(v[{i}]))" if fs.many else f"    set{i}(o, v[{i}])")
    lines.append("    return o")
    # the source is built from field positions only (no input data reaches it)
    exec("\n".join(lines), env)  # noqa: S102
    make: Callable[[list[Any]], Any] = env["make"]
    return make


_PLANS: dict[type, ClassPlan] = {}


def plan(cls: type) -> ClassPlan:
    """The (cached) plan of a model class; sub-plans are built on first use."""
    got = _PLANS.get(cls)
    if got is None:
        fields = specs(cls)
        children = {
            fs.xml: Slot(i, 1 << i, fs.many, None if fs.cls is None else plan(fs.cls),
                         None if fs.stype is None else _accept(fs.stype),
                         None if fs.stype is None else _leaf_reader(fs.stype, fs.default), fs)
            for i, fs in enumerate(fields) if not fs.attr
        }
        got = _PLANS[cls] = ClassPlan(
            cls=cls,
            children=children,
            blank=tuple(() if fs.many else None for fs in fields),
            # an element seen once satisfies minOccurs 1; other bounds are counted
            required=sum(1 << i for i, fs in enumerate(fields) if fs.min and not fs.attr),
            bounds=tuple((i, fs.min, fs.max) for i, fs in enumerate(fields)
                         if fs.many and (fs.min > 1 or fs.max is not None)),
            choice=issubclass(cls, _CHOICE),
            make=_constructor(cls, fields),
        )
    return got


def choice_ok(values: list[Any], fields: tuple[FieldSpec, ...]) -> bool:
    """Denominazione XOR (Nome and Cognome), on a value list in field order."""
    got = {fs.name: v for fs, v in zip(fields, values, strict=True)}
    den, nome, cognome = got["denominazione"], got["nome"], got["cognome"]
    if den is not None:
        return nome is None and cognome is None
    return nome is not None and cognome is not None
