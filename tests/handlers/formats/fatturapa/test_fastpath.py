"""Guards of the reader's fast path (`plan`/`walk`): it may skip work, never change a verdict.

* every leaf reader that says "surely valid" is right (`check` agrees), on valid and wild text;
* the `accept` regexes of `xsdtypes` and the decimal lexical patterns imply the value facets;
* on XML-level mutations of generated invoices (wild leaf text, removed/duplicated/swapped
  elements, attributes, comments, stray text, children in leaves), `validate_bytes` equals the
  reference composition reader findings + `check_structure` + content checks, and its 00200
  verdict agrees with the official XSD;
* the generated per-class readers (`fastread`) give an invoice only when the generic walk finds
  nothing and is sure, and then the same invoice; they do apply to the reference invoices.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from handlers.formats import xmlsafe
from handlers.formats.fatturapa import (
    check_structure,
    content_findings,
    parse_report,
    validate_bytes,
    write,
)
from handlers.formats.fatturapa import xsdtypes as t
from handlers.formats.fatturapa.fastread import read_fast
from handlers.formats.fatturapa.fields import specs
from handlers.formats.fatturapa.model import FatturaElettronica
from handlers.formats.fatturapa.plan import plan
from handlers.formats.fatturapa.walk import read_root
from tests.support.ref import ref_path

from .conftest import xsd_errors
from .strategies import LATIN, invoices, valid_value

# PECORA_HYPOTHESIS_EXAMPLES=2000 for a long local run; the default keeps the suite quick.
EXAMPLES = int(os.environ.get("PECORA_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
TYPES = sorted({v for v in vars(t).values() if isinstance(v, t.SimpleType)}, key=lambda s: s.name)
# Text as it can reach a leaf: any XML character, whitespace, digits and signs in odd places.
WILD_TEXT = st.text(LATIN + "\t\n\r€😀Ā\u2019-+.:TZ0123456789", max_size=70)


def _leaves() -> list[Any]:
    out, todo, done = [], [FatturaElettronica], set()
    while todo:
        cls = todo.pop()
        if cls in done:
            continue
        done.add(cls)
        for slot in plan(cls).children.values():
            if slot.sub is not None:
                todo.append(slot.sub.cls)
            else:
                out.append(slot)
    return sorted(out, key=lambda s: (s.spec.xml, s.spec.stype.name))


LEAVES = _leaves()


def _text_for(stype: t.SimpleType) -> st.SearchStrategy[str]:
    lexical = [st.from_regex(stype.lexical, fullmatch=True)] if stype.lexical else []
    accept = [st.from_regex(stype.accept, fullmatch=True)] if stype.accept else []
    as_text = valid_value(stype).map(lambda v: t.to_text(stype, v))
    return st.one_of(WILD_TEXT, as_text, *lexical, *accept)


@SETTINGS
@given(st.data())
def test_a_leaf_reader_is_sure_only_of_valid_values(data: st.DataObject) -> None:
    slot = data.draw(st.sampled_from(LEAVES), label="leaf")
    stype = slot.spec.stype
    text = data.draw(_text_for(stype), label="text")
    value, err, sure = slot.leaf(text)
    assert (value, err) == t.from_text(stype, text)  # same conversion as the generic reader
    accepted = slot.accept is not None and slot.accept(text)
    if accepted:
        assert stype.kind == "str" and check(stype, text) is None
    if sure:
        assert err is None
        assert check(stype, value) is None or (value == "" and slot.spec.default is not None)


def check(stype: t.SimpleType, value: Any) -> str | None:
    return t.check(stype, value)


@SETTINGS
@given(st.sampled_from([s for s in TYPES if s.accept is not None]), st.data())
def test_accept_regex_implies_check(stype: t.SimpleType, data: st.DataObject) -> None:
    assert stype.accept is not None
    text = data.draw(st.from_regex(stype.accept, fullmatch=True) | WILD_TEXT)
    if stype.accept.fullmatch(text):
        assert t.check(stype, text) is None, (stype.name, text)


@SETTINGS
@given(st.sampled_from([s for s in TYPES if s.kind == "dec"]), st.data())
def test_decimal_lexical_form_implies_the_value_facets(stype: t.SimpleType,
                                                       data: st.DataObject) -> None:
    assert stype.lexical is not None
    text = data.draw(st.from_regex(stype.lexical, fullmatch=True))
    value, err = t.from_text(stype, text)
    assert err is None
    top = stype.max_value
    assert (t.check(stype, value) is None) == (top is None or value <= top), (stype.name, text)


def test_plans_cover_every_field() -> None:
    for cls in {FatturaElettronica} | {s.sub.cls for s in _subs()}:
        fields = specs(cls)
        cp = plan(cls)
        assert len(cp.blank) == len(fields)
        assert {s.spec for s in cp.children.values()} == {fs for fs in fields if not fs.attr}


def _subs() -> list[Any]:
    out, todo = [], [plan(FatturaElettronica)]
    while todo:
        cp = todo.pop()
        for slot in cp.children.values():
            if slot.sub is not None:
                out.append(slot)
                todo.append(slot.sub)
    return out


# --- XML-level mutations -------------------------------------------------------------------

MUTATIONS = ("text", "remove", "duplicate", "swap", "attribute", "comment", "tail", "child",
             "empty", "qualify")


def _mutate(xml: bytes, data: st.DataObject) -> bytes:
    root = etree.fromstring(xml)
    elements = list(root.iter())[1:]
    el = data.draw(st.sampled_from(elements), label="element")
    what = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    parent = el.getparent()
    if what == "text" and len(el) == 0:
        el.text = data.draw(WILD_TEXT.filter(lambda s: "\r" not in s), label="text")
    elif what == "remove":
        parent.remove(el)
    elif what == "duplicate":
        parent.insert(parent.index(el), etree.fromstring(etree.tostring(el)))
    elif what == "swap" and el.getnext() is not None:
        parent.insert(parent.index(el), el.getnext())
    elif what == "attribute":
        el.set("x", "1")
    elif what == "comment":
        el.append(etree.Comment("c"))
    elif what == "tail":
        el.tail = data.draw(st.sampled_from(["x", " ", "\n  y"]), label="tail")
    elif what == "child":
        etree.SubElement(el, "Extra").text = "1"
    elif what == "empty":
        el.text = None
        for c in list(el):
            el.remove(c)
    elif what == "qualify":
        el.tag = f"{{{root.nsmap.get('p')}}}{etree.QName(el).localname}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@SETTINGS
@given(invoices, st.data())
def test_validate_bytes_equals_the_reference_on_xml_mutations(
    xsd123: Any, inv: Any, data: st.DataObject
) -> None:
    xml = _mutate(write(inv), data)
    got = validate_bytes(xml)
    result = parse_report(xml)
    reference = (list(result.findings) + check_structure(result.invoice)
                 + content_findings(result.invoice))
    assert got == reference
    schema_says_valid = xsd_errors(xsd123, xml) == []
    assert schema_says_valid == (not [f for f in got if f.code == "00200"]), (
        xml, xsd_errors(xsd123, xml), got)


def _fast_agrees_with_walk(xml: bytes) -> bool:
    """read_fast's answer is the walk's clean result, or None; True if it answered."""
    root = xmlsafe.parse(xml, drop_blank_text=True)  # as `reader.read_tree` does
    fast = read_fast(root)
    findings: list[Any] = []
    slow, sure = read_root(xmlsafe.parse(xml), findings)
    if fast is not None:
        assert findings == [] and sure
        assert fast == slow
    elif not findings and sure:
        # the clean cases it leaves to the walk: an empty leaf (Nazione's XSD default), and
        # comments or processing instructions (valid, but not worth a fast path)
        assert any((el.text is None and not len(el)) or not isinstance(el.tag, str)
                   for el in root.iter()), xml
    return fast is not None


@SETTINGS
@given(invoices)
def test_fast_reader_reads_generated_invoices_like_the_walk(inv: Any) -> None:
    _fast_agrees_with_walk(write(inv))


@SETTINGS
@given(invoices, st.data())
def test_fast_reader_gives_up_on_what_the_walk_would_report(inv: Any, data: st.DataObject) -> None:
    xml = _mutate(write(inv), data)
    if _fast_agrees_with_walk(xml):  # it answered: the mutation left a valid invoice
        assert not [f for f in validate_bytes(xml) if f.code == "00200"]


def test_fast_reader_applies_to_the_reference_invoices() -> None:
    names = sorted(p.name for p in ref_path("invoices").glob("*.xml") if "ZGEX" not in p.name)
    assert names
    for name in names:
        assert _fast_agrees_with_walk(ref_path("invoices", name).read_bytes()), name
