"""The one safe XML parser: refusals, and what dropping blank text does and does not drop."""

from __future__ import annotations

import threading

import pytest

from handlers.formats import xmlsafe

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


@pytest.mark.parametrize("drop", [False, True])
def test_doctype_entities_and_size_refused_with_either_parser(drop: bool) -> None:
    with pytest.raises(xmlsafe.UnsafeXml, match="DOCTYPE"):
        xmlsafe.parse(BILLION_LAUGHS, drop_blank_text=drop)
    with pytest.raises(xmlsafe.UnsafeXml, match="too large"):
        xmlsafe.parse(b"<a/>", max_bytes=3, drop_blank_text=drop)
    with pytest.raises(xmlsafe.MalformedXml):
        xmlsafe.parse(b"<a><b></a>", drop_blank_text=drop)
    with pytest.raises(xmlsafe.MalformedXml):  # an undeclared entity is not well-formed
        xmlsafe.parse(b"<a>&x;</a>", drop_blank_text=drop)


def test_drop_blank_text_drops_indentation_only() -> None:
    data = b"<a>\n  <b>   </b>\n  <c> x </c>\n  <d>\n    <e>1</e>\n  </d>junk\n</a>"
    kept = xmlsafe.parse(data)
    dropped = xmlsafe.parse(data, drop_blank_text=True)
    assert kept.text == "\n  " and dropped.text is None
    texts = {el.tag: (el.text, el.tail) for el in dropped.iter()}
    assert texts["b"] == ("   ", None)  # a whitespace-only leaf keeps its text
    assert texts["c"] == (" x ", None)
    assert texts["d"] == (None, "junk\n")  # stray text stays visible
    assert kept.find("b").tail == "\n  "  # the default parser keeps every node


def test_each_thread_has_its_own_parser() -> None:
    seen: list[object] = []

    def work() -> None:
        xmlsafe.parse(b"<a/>")
        seen.append(xmlsafe._LOCAL.keeping)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 2 and seen[0] is not seen[1]
