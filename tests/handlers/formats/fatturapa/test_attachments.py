"""Allegati: decoded bytes, safe names (no traversal, no absolute paths, no control chars,
≤ 100 chars keeping the extension), unique names across bodies."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.formats.fatturapa import Allegato, extract_attachments, parse, write
from handlers.formats.fatturapa.attachments import MAX_NAME, _safe_name

from .conftest import xsd_errors
from .factory import body, invoice, replace_in


@pytest.mark.parametrize(("raw", "expected"), [
    ("fattura.pdf", "fattura.pdf"),
    ("../../etc/passwd", "passwd"),
    ("/etc/cron.d/evil", "evil"),
    ("C:\\Windows\\system32\\x.dll", "x.dll"),
    ("a\x00b\x1fc\x7f.pdf", "abc.pdf"),
    ("..", "allegato"),
    ("", "allegato"),
    ("  .hidden.txt ", "hidden.txt"),
    ("CON.pdf", "allegato_CON.pdf"),
    ('re<po>rt:"1"?.pdf', "report1.pdf"),
])
def test_safe_name(raw: str, expected: str) -> None:
    assert _safe_name(raw) == expected


def test_long_names_keep_extension() -> None:
    name = _safe_name("x" * 300 + ".pdf")
    assert len(name) == MAX_NAME and name.endswith(".pdf")
    assert len(_safe_name("y" * 300)) == MAX_NAME


def _with_attachments(*items: Allegato) -> Any:
    return invoice(body(), replace_in(body(numero="2"), "allegati", items))


def test_extract_from_xml(xsd123: Any) -> None:
    payload = bytes(range(256)) * 3
    inv = _with_attachments(
        Allegato(nome_attachment="../doc.pdf", formato_attachment="PDF", attachment=payload),
        Allegato(nome_attachment="doc.pdf", attachment=b"%PDF-1.4"),
        Allegato(nome_attachment="DOC.PDF", attachment=b""))
    data = write(inv)
    assert xsd_errors(xsd123, data) == []
    got = extract_attachments(parse(data))
    assert [(a.body_index, a.safe_name, a.original_name) for a in got] == [
        (2, "doc.pdf", "../doc.pdf"), (2, "doc_2.pdf", "doc.pdf"), (2, "DOC_3.PDF", "DOC.PDF")]
    assert got[0].data == payload and got[0].format == "PDF"


def test_wrapped_base64_is_accepted() -> None:
    inv = _with_attachments(Allegato(nome_attachment="a.txt", attachment=b"hello world" * 20))
    data = write(inv)
    start = data.index(b"<Attachment>") + len(b"<Attachment>")
    end = data.index(b"</Attachment>")
    b64 = data[start:end]
    wrapped = b"\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    assert parse(data[:start] + wrapped + data[end:]) == inv
