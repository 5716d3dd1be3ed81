"""The optional official XSD: compiled from bytes (xmldsig import from memory), its findings."""

from __future__ import annotations

import pytest

from handlers.formats.fatturapa import OfficialSchema, SchemaError, validate_bytes
from tests.support.ref import ref_bytes


def _official() -> OfficialSchema:
    return OfficialSchema(ref_bytes("xsd", "Schema_VFPR12_v1.2.3.xsd"),
                          ref_bytes("xsd", "xmldsig-core-schema.xsd"))


def test_reference_invoice_is_valid_for_both() -> None:
    official = _official()
    data = ref_bytes("invoices", "IT01234567890_FPA01.xml")
    assert official.findings(data) == []
    assert validate_bytes(data, official=official) == validate_bytes(data)


def test_an_order_error_is_found_by_both_and_named_as_the_xsd_s() -> None:
    official = _official()
    data = ref_bytes("invoices", "IT01234567890_FPA01.xml")
    # Swap Numero and Data in DatiGeneraliDocumento (XSD sequence: Data before Numero).
    start, end = data.index(b"<Data>"), data.index(b"</Numero>") + len(b"</Numero>")
    block = data[start:end]
    data_el = block[:block.index(b"</Data>") + len(b"</Data>")]
    numero_el = block[block.index(b"<Numero>"):]
    swapped = data[:start] + numero_el + data_el + data[end:]
    xsd = official.findings(swapped)
    assert xsd and all(f.code == "00200" and "official XSD" in f.message_en for f in xsd)
    assert "DatiGeneraliDocumento" in xsd[0].xpath
    findings = validate_bytes(swapped, official=official)
    ours = validate_bytes(swapped)
    assert [f for f in findings if f not in ours] == xsd  # ours, then the XSD's


def test_not_a_schema_or_another_schema_is_refused() -> None:
    dsig = ref_bytes("xsd", "xmldsig-core-schema.xsd")
    with pytest.raises(SchemaError, match="not a usable"):
        OfficialSchema(b"<not-xml", dsig)
    with pytest.raises(SchemaError, match="not FatturaPA"):
        OfficialSchema(dsig, dsig)  # a valid schema, for the xmldsig namespace
