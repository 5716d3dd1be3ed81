"""The reader's fast path: one generated function per model class, for ordinary invoices only.

Almost every invoice that reaches pecora is schema-valid. For those, the generic walk (`walk`)
spends most of its time being ready for what does not happen: per child it looks up a slot,
unpacks it, tracks order and repeats in bit sets, and keeps a lazy XPath for findings. Here each
model class gets a straight-line function, compiled once from the same `plan.ClassPlan`s, that
expects the children in XSD sequence order (a tag comparison per field), converts leaves with
the same `accept`/`LeafReader`s, and builds the instance with the slot setters directly.

It never reports anything: at the first thing that is not plainly valid (unknown, misplaced or
repeated element, attribute, comment, stray text, element inside a leaf, empty leaf, a leaf
value its reader is not sure of, a missing mandatory element, repeat bounds, the
Denominazione/Nome+Cognome choice) it gives up and `read_fast` returns None; the caller then
runs the generic walk, which finds and explains the problem. So an invoice from `read_fast` is
exactly the one `walk.read_root` builds with no findings and ``sure`` (a property test holds
the two to that), and the verdicts stay the generic walk's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fields import specs
from .model import FatturaElettronica
from .plan import ClassPlan, plan
from .xsdtypes import FORMATO_TRASMISSIONE, STRING10, check

_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_ROOT_ATTRS = ("versione", "SistemaEmittente")


class _GiveUp(Exception):
    """Raised by the generated readers; caught once in `read_fast`."""


def _leaf_lines(k: int, slot_accept: object, out: list[str], ind: str) -> None:
    """Code that checks leaf element ``c`` and leaves its value in ``v``."""
    out += [
        f"{ind}t = c.text",
        # no text (empty leaf: the XSD default case), children (mixed) or attributes: generic
        f"{ind}if t is None or len(c) or c.keys(): raise GiveUp",
        f"{ind}tl = c.tail",
        f"{ind}if tl is not None and not tl.isspace(): raise GiveUp",
    ]
    if slot_accept is not None:
        out += [f"{ind}if acc{k}(t): v = t", f"{ind}else:"]
        ind += "    "
    out += [f"{ind}v, err, ok = leaf{k}(t)",
            f"{ind}if err is not None or not ok: raise GiveUp"]


def _complex_lines(k: int, out: list[str], ind: str) -> None:
    """Code that reads complex element ``c`` into ``v``."""
    out += [
        f"{ind}if c.keys(): raise GiveUp",
        f"{ind}tl = c.tail",
        f"{ind}if tl is not None and not tl.isspace(): raise GiveUp",
        f"{ind}v = sub{k}(c)",
    ]


_ADVANCE = ["i += 1", "if i < n:", "    c = ch[i]", "    tg = c.tag", "else:", "    tg = None"]


def _source(cp: ClassPlan, env: dict[str, Any]) -> str:
    fields = specs(cp.cls)
    lines = [
        "def read(el):",
        "    t = el.text",
        "    if t is not None and not t.isspace(): raise GiveUp",
        "    ch = list(el)",
        "    n = len(ch)",
        "    i = 0",
        "    if n:",
        "        c = ch[0]",
        "        tg = c.tag",
        "    else:",
        "        tg = None",
    ]
    bounds = {i: (lo, hi) for i, lo, hi in cp.bounds}
    for k, fs in enumerate(fields):
        if fs.attr:  # the root's attributes: set by `read_fast`, as `walk.read_root` does
            lines.append(f"    v{k} = None")
            continue
        slot = cp.children[fs.xml]
        if slot.sub is not None:
            env[f"sub{k}"] = _reader(slot.sub)
        else:
            env[f"acc{k}"], env[f"leaf{k}"] = slot.accept, slot.leaf
        body: list[str] = []
        if slot.sub is not None:
            _complex_lines(k, body, "        ")
        else:
            _leaf_lines(k, slot.accept, body, "        ")
        adv = ["        " + a for a in _ADVANCE]
        if fs.many:
            lines.append(f"    v{k} = []")
            lines.append(f"    while tg == {fs.xml!r}:")
            lines += [*body, f"        v{k}.append(v)", *adv]
            lo, hi = bounds.get(k, (fs.min, None))
            if lo:
                lines.append(f"    if len(v{k}) < {lo}: raise GiveUp")
            if hi is not None:
                lines.append(f"    if len(v{k}) > {hi}: raise GiveUp")
            lines.append(f"    v{k} = tuple(v{k})")
        else:
            lines.append(f"    if tg == {fs.xml!r}:")
            lines += [*body, f"        v{k} = v", *adv]
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
        env: dict[str, Any] = {"GiveUp": _GiveUp, "new": object.__new__, "cls": cp.cls}
        source = _source(cp, env)
        # the source is built from the model's field declarations only (no input data)
        exec(compile(source, f"<fastread {cp.cls.__name__}>", "exec"), env)  # noqa: S102
        got = _READERS[cp.cls] = env["read"]
    return got


_READ_ROOT = _reader(plan(FatturaElettronica))


def read_fast(root: Any) -> FatturaElettronica | None:
    """The invoice if the root element is plainly valid throughout, else None (use `walk`)."""
    for name in root.attrib:
        if name not in _ROOT_ATTRS and not name.startswith(_XSI):
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
