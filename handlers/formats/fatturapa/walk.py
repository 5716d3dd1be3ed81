"""The reader's tree walk: lxml element -> model instance, schema findings, structural verdict.

Driven by the per-class `plan.ClassPlan`s. It records, as 00200 findings, what an XSD
validator would refuse but a typed value cannot show: unknown/misplaced/duplicated elements,
text where none is allowed, attributes, and lexical forms (``1`` for a ``Quantita``, which must
be ``1.00``). Missing mandatory elements become ``None`` in the model and are reported by
`structure`. On the way it also decides whether `structure.check_structure` would find
nothing (every leaf surely valid, mandatory elements present, choice respected): when the
walk is sure, `validate_bytes` skips that second walk over the model.

This is the hot path of `validate_bytes` (about 95 elements per typical invoice), hence the
shape: XPaths are kept as unformatted ``(parent, slot, n)`` tuples until a finding needs one,
the in-sequence case is tested first, strings are accepted inline without a call, and doubts
are reported by appending to a list rather than threaded through return values.
"""

from __future__ import annotations

from typing import Any

from .errors import Finding
from .fields import specs
from .model import NAMESPACE, ROOT, FatturaElettronica
from .plan import ClassPlan, Slot, choice_ok, plan
from .xsdtypes import FORMATO_TRASMISSIONE, STRING10, check

_QUALIFIED = f"{{{NAMESPACE}}}"
_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_ROOT_PLAN = plan(FatturaElettronica)
_ROOT_PATH = f"/{ROOT}"

#: An XPath still to be formatted: a string, or (parent path, slot, occurrence number).
Path = str | tuple[Any, Slot, int]


def xpath(path: Path) -> str:
    """Format a lazy `Path` (``/A/B[2]/C``; the index only on repeatable elements)."""
    if isinstance(path, str):
        return path
    parent, slot, n = path
    xml = slot.spec.xml
    return f"{xpath(parent)}/{xml}[{n}]" if slot.many else f"{xpath(parent)}/{xml}"


def _finding(path: Path, en: str) -> Finding:
    return Finding("00200", xpath(path), f"File non conforme al formato: {en}", en)


def read_root(root: Any, out: list[Finding]) -> tuple[FatturaElettronica, bool]:
    """Read the root element: (invoice, sure). Findings go to ``out`` in document order."""
    doubts: list[object] = []
    invoice = _read(root, _ROOT_PLAN, _ROOT_PATH, out, doubts)
    for name in root.attrib:
        if name not in ("versione", "SistemaEmittente") and not name.startswith(_XSI):
            out.append(_finding(f"{_ROOT_PATH}/@{name}", f"attribute {name} not allowed"))
    versione, sistema = root.get("versione"), root.get("SistemaEmittente")
    # The attribute fields are set on the fresh, not yet shared instance, like __init__ would.
    object.__setattr__(invoice, "versione", versione)
    object.__setattr__(invoice, "sistema_emittente", sistema)
    sure = not doubts and versione is not None and check(FORMATO_TRASMISSIONE, versione) is None
    return invoice, sure and (sistema is None or check(STRING10, sistema) is None)


def _read(el: Any, cp: ClassPlan, path: Path, out: list[Finding], doubts: list[object]) -> Any:
    index = cp.children
    values = list(cp.blank)
    seen = 0  # bit i set: field i already had an element
    pos = -1  # index of the last field read (XSD sequence position)
    text = el.text
    if text is not None and not text.isspace():
        out.append(_finding(path, "text not allowed here"))
    for child in el:
        tag = child.tag
        slot = index.get(tag)
        if slot is None:
            if tag.__class__ is not str:  # comment / processing instruction
                continue
            _tail(child, path, out)
            slot, tag = _foreign(tag, cp, path, out)
            if slot is None:
                continue
        else:
            tail = child.tail
            if tail is not None and not tail.isspace():
                out.append(_finding(path, "text not allowed here"))
        idx, bit, many, sub, accept, leaf, _ = slot
        if idx > pos and not seen & bit:  # the usual case: next field in XSD order
            n = 1
            seen |= bit
        else:
            n = _misplaced(values, slot, seen, pos, tag, path, out)
            seen |= bit
        pos = idx
        if child.keys():  # (cheaper than .attrib, which builds a proxy)
            out.append(_finding((path, slot, n), f"attributes not allowed on {tag}"))
        if sub is not None:
            value = _read(child, sub, (path, slot, n), out, doubts)
        else:
            text = child.text
            if text is None or len(child):
                text = _text(child, slot, (path, slot, n), out)
            if accept is not None and accept(text):
                value = text
            else:
                assert leaf is not None
                value, err, ok = leaf(text)
                if err:
                    out.append(_finding((path, slot, n), err))
                if not ok:
                    doubts.append(slot)
        if n == 1:
            values[idx] = [value] if many else value
        elif many:
            values[idx].append(value)
        # a repeated single element keeps its first value
    required = cp.required
    if seen & required != required or (
            (cp.bounds or cp.choice) and not _complete(cp, values)):
        doubts.append(cp)
    return cp.make(values)


def _tail(child: Any, path: Path, out: list[Finding]) -> None:
    tail = child.tail
    if tail is not None and not tail.isspace():
        out.append(_finding(path, "text not allowed here"))


def _misplaced(values: list[Any], slot: Slot, seen: int, pos: int, tag: str, path: Path,
               out: list[Finding]) -> int:
    """Occurrence number of an element that is repeated or not in XSD order (+ finding)."""
    idx, many = slot.idx, slot.many
    n = (len(values[idx]) + 1 if many else 2) if seen & slot.bit else 1
    if idx < pos:
        out.append(_finding((path, slot, n), f"element {tag} out of order"))
    elif n > 1 and not many:
        out.append(_finding((path, slot, n), f"element {tag} repeated"))
    return n


def _text(el: Any, slot: Slot, path: Path, out: list[Finding]) -> str:
    """The text of a leaf element (its itertext if it wrongly has children)."""
    text = el.text
    if len(el):
        if any(isinstance(c.tag, str) for c in el):
            out.append(_finding(path, f"{slot.spec.xml} must not contain elements"))
        text = "".join(el.itertext())
    # None -> "" even where the XSD has a default (Nazione: empty means IT), so that reading
    # and writing stay inverse; `structure` accepts it like the XSD does
    return "" if text is None else text


def _complete(cp: ClassPlan, values: list[Any]) -> bool:
    """Repeat bounds beyond minOccurs 1 and the XSD choice hold (as `structure` checks)."""
    for i, lo, hi in cp.bounds:
        if len(values[i]) < lo or (hi is not None and len(values[i]) > hi):
            return False
    return not cp.choice or choice_ok(values, specs(cp.cls))


def _foreign(tag: str, cp: ClassPlan, path: Path, out: list[Finding]) -> tuple[Slot | None, str]:
    """A tag that is not a plain child name: qualified child, signature, unknown element."""
    if tag[0] == "{":
        if tag.startswith(_QUALIFIED):  # children must be unqualified (default ns leak)
            tag = tag[len(_QUALIFIED):]
            out.append(_finding(f"{xpath(path)}/{tag}",
                                f"{tag} must be unqualified (no namespace)"))
            slot = cp.children.get(tag)
            if slot is not None:
                return slot, tag
        elif cp.cls is FatturaElettronica and tag == _SIGNATURE:
            return None, tag  # XAdES enveloped signature: not part of the model
    out.append(_finding(f"{xpath(path)}/{tag}", f"unexpected element {tag}"))
    return None, tag
