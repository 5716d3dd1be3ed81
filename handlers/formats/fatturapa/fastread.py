"""The reader's fast path: one generated function per model class, for ordinary invoices only.

Almost every invoice that reaches pecora is schema-valid. For those, the generic walk (`walk`)
spends most of its time being ready for what does not happen: per child it looks up a slot,
unpacks it, tracks order and repeats in bit sets, and keeps a lazy XPath for findings. Here each
model class gets a straight-line function, compiled once from the same `plan.ClassPlan`s, that
expects the children in XSD sequence order (a tag comparison per field), converts leaves with
the same `accept`/`LeafReader`s, and builds the instance with the slot setters directly.

It reads a tree parsed with ``xmlsafe.parse(data, drop_blank_text=True)``, where indentation
is gone: any text node left between elements is stray text (or whitespace libxml2 chose to
keep), so one ``is not None`` per node replaces reading and testing every tail.

It never reports anything: at the first thing that is not plainly valid (unknown, misplaced
or repeated element, attribute, comment, any text between elements, element inside a leaf,
empty leaf, a leaf value its reader is not sure of, a missing mandatory element, repeat
bounds, the Denominazione/Nome+Cognome choice) it gives up and `read_fast` returns None; the
caller then runs the generic walk, which finds and explains the problem. So an invoice from
`read_fast` is exactly the one `walk.read_root` builds with no findings and ``sure`` (a
property test holds the two to that), and the verdicts stay the generic walk's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lxml import etree

from .fields import specs
from .model import FatturaElettronica
from .plan import ClassPlan, Slot, plan
from .xsdtypes import FORMATO_TRASMISSIONE, STRING10, check

_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_ROOT_ATTRS = ("versione", "SistemaEmittente")
_DIGITS = re.compile("[0-9]+")
# Attributes anywhere (the root's included): one C-level count instead of a call per element.
_COUNT_ATTRIBUTES = etree.XPath("count(//@*)")


class _GiveUp(Exception):
    """Raised by the generated readers; caught once in `read_fast`."""


def _leaf_lines(k: int, slot: Slot, env: dict[str, Any], out: list[str], ind: str) -> None:
    """Code that checks leaf element ``c`` and leaves its value in ``v<k>``."""
    out += [
        f"{ind}t = c.text",
        # no text (empty leaf: the XSD default case) or children (mixed content): generic
        f"{ind}if t is None or len(c): raise GiveUp",
        f"{ind}if c.tail is not None: raise GiveUp",
    ]
    st = slot.spec.stype
    assert st is not None and slot.leaf is not None
    env[f"leaf{k}"] = slot.leaf
    # The common lexical forms are converted inline, exactly as `plan._leaf_reader` does
    # (a call and a tuple per leaf saved); anything else goes through the leaf reader.
    if slot.accept is not None:
        env[f"acc{k}"] = slot.accept
        out += [f"{ind}if acc{k}(t): v{k} = t", f"{ind}else:"]
    elif st.kind == "dec" and st.lexical is not None:
        env[f"lex{k}"], env[f"top{k}"] = st.lexical.fullmatch, st.max_value
        out += [f"{ind}if lex{k}(t) is not None:", f"{ind}    v{k} = Decimal(t)"]
        if st.max_value is not None:
            out.append(f"{ind}    if v{k} > top{k}: raise GiveUp")
        out.append(f"{ind}else:")
    elif st.kind == "int" and st.min_int is not None and st.max_int is not None:
        out += [f"{ind}if digits(t) is not None:", f"{ind}    v{k} = int(t)",
                f"{ind}    if not {st.min_int} <= v{k} <= {st.max_int}: raise GiveUp",
                f"{ind}else:"]
    else:
        ind = ind[:-4]  # no inline form: the leaf reader decides (undone below)
    out += [f"{ind}    v{k}, err, ok = leaf{k}(t)",
            f"{ind}    if err is not None or not ok: raise GiveUp"]


def _complex_lines(k: int, out: list[str], ind: str) -> None:
    """Code that reads complex element ``c`` into ``v<k>``."""
    out += [f"{ind}if c.tail is not None: raise GiveUp", f"{ind}v{k} = sub{k}(c)"]


class _End:
    """What `next` gives after the last child: its tag matches no field name."""

    tag = None


# the next child (an `_End` after the last one)
_ADVANCE = ["c = nxt(it, END)", "tg = c.tag"]


def _source(cp: ClassPlan, env: dict[str, Any]) -> str:
    fields = specs(cp.cls)
    lines = [
        "def read(el):",
        "    if el.text is not None: raise GiveUp",
        "    it = iter(el)",
        "    c = nxt(it, END)",
        "    tg = c.tag",
    ]
    bounds = {i: (lo, hi) for i, lo, hi in cp.bounds}
    for k, fs in enumerate(fields):
        if fs.attr:  # the root's attributes: set by `read_fast`, as `walk.read_root` does
            lines.append(f"    v{k} = None")
            continue
        slot = cp.children[fs.xml]
        body: list[str] = []
        if slot.sub is not None:
            env[f"sub{k}"] = _reader(slot.sub)
            _complex_lines(k, body, "        ")
        else:
            _leaf_lines(k, slot, env, body, "        ")
        adv = ["        " + a for a in _ADVANCE]
        if fs.many:
            lines.append(f"    w{k} = []")
            lines.append(f"    while tg == {fs.xml!r}:")
            lines += [*body, f"        w{k}.append(v{k})", *adv]
            lo, hi = bounds.get(k, (fs.min, None))
            if lo:
                lines.append(f"    if len(w{k}) < {lo}: raise GiveUp")
            if hi is not None:
                lines.append(f"    if len(w{k}) > {hi}: raise GiveUp")
            lines.append(f"    v{k} = tuple(w{k})")
        else:
            lines.append(f"    if tg == {fs.xml!r}:")
            lines += [*body, *adv]
            lines.append("    else:")
            lines.append("        raise GiveUp" if fs.min else f"        v{k} = None")
    # anything left: an unknown, misplaced or repeated element, or a comment/PI
    lines.append("    if tg is not None: raise GiveUp")
    if cp.choice:
        names = {fs.name: k for k, fs in enumerate(fields)}
        d, no, co = (f"v{names[x]}" for x in ("denominazione", "nome", "cognome"))
        lines.append(f"    if not ({d} is not None and {no} is None and {co} is None"
                     f" or {d} is None and {no} is not None and {co} is not None): raise GiveUp")
    lines.append("    o = new(cls)")
    for k, fs in enumerate(fields):
        env[f"set{k}"] = getattr(cp.cls, fs.name).__set__
        lines.append(f"    set{k}(o, v{k})")
    lines.append("    return o")
    return "\n".join(lines)


_READERS: dict[type, Callable[[Any], Any]] = {}


def _reader(cp: ClassPlan) -> Callable[[Any], Any]:
    got = _READERS.get(cp.cls)
    if got is None:
        env: dict[str, Any] = {"GiveUp": _GiveUp, "new": object.__new__, "cls": cp.cls,
                               "END": _End(), "nxt": next, "Decimal": Decimal,
                               "digits": _DIGITS.fullmatch}
        source = _source(cp, env)
        # the source is built from the model's field declarations only (no input data)
        exec(compile(source, f"<fastread {cp.cls.__name__}>", "exec"), env)  # noqa: S102
        got = _READERS[cp.cls] = env["read"]
    return got


_READ_ROOT = _reader(plan(FatturaElettronica))


def read_fast(root: Any) -> FatturaElettronica | None:
    """The invoice if the root element is plainly valid throughout, else None (use `walk`)."""
    attrib = root.attrib
    for name in attrib:
        if name not in _ROOT_ATTRS and not name.startswith(_XSI):
            return None
    if _COUNT_ATTRIBUTES(root) != len(attrib):  # an attribute below the root
        return None
    versione, sistema = root.get("versione"), root.get("SistemaEmittente")
    if versione is None or check(FORMATO_TRASMISSIONE, versione) is not None:
        return None
    if sistema is not None and check(STRING10, sistema) is not None:
        return None
    try:
        invoice: FatturaElettronica = _READ_ROOT(root)
    except _GiveUp:
        return None
    object.__setattr__(invoice, "versione", versione)
    object.__setattr__(invoice, "sistema_emittente", sistema)
    return invoice
