"""Typed model -> FatturaPA XML bytes (UTF-8, ``p:`` prefix on the root, unqualified children).

Element order comes from the model's field order (= XSD sequence), so the writer cannot emit
the #1 cause of 00200 (domain.md §1.2). Values are written in the XSD lexical forms by
`xsdtypes.to_text` (amounts with at least two decimals, no exponent) and are never rounded or
"fixed": an invalid model gives an invalid file, which `validate` reports beforehand. ``None``
and empty tuples are omitted (an empty optional element would be invalid).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .fields import specs
from .model import NAMESPACE, ROOT, FatturaElettronica
from .xsdtypes import to_text

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _fill(el: Any, obj: Any) -> None:
    sub = etree.SubElement
    for fs in specs(type(obj)):
        value = getattr(obj, fs.name)
        if value is None:
            continue
        if fs.attr:
            assert fs.stype is not None
            el.set(fs.xml, to_text(fs.stype, value))
            continue
        for item in (value if fs.many else (value,)):
            child = sub(el, fs.xml)
            if fs.cls is not None:
                _fill(child, item)
            else:
                assert fs.stype is not None
                child.text = to_text(fs.stype, item)


def to_element(invoice: FatturaElettronica) -> Any:
    """The invoice as an lxml element (for signing or embedding)."""
    root = etree.Element(f"{{{NAMESPACE}}}{ROOT}", nsmap={"p": NAMESPACE})
    _fill(root, invoice)
    return root


def write(invoice: FatturaElettronica, *, pretty: bool = False) -> bytes:
    """Serialise ``invoice`` as UTF-8 XML with an XML declaration."""
    body = etree.tostring(to_element(invoice), xml_declaration=False, encoding="UTF-8",
                          pretty_print=pretty)
    return _DECLARATION + bytes(body)
