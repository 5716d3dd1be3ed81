"""Reader: prefixes, default namespace, encodings, BOM, lots, signatures, refused formats,
and the schema findings the model cannot carry."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.formats.fatturapa import (
    FormatKind,
    InvalidXml,
    NotAnInvoice,
    UnsupportedFormat,
    parse,
    parse_report,
    sniff,
    validate_bytes,
    write,
)
from handlers.formats.fatturapa.model import NAMESPACE

from .conftest import xsd_errors
from .factory import body, invoice, replace_in

NS = NAMESPACE.encode()


def _inv_with(text: str) -> Any:
    inv = invoice()
    return replace_in(inv, "header.cedente_prestatore.sede.comune", text)


def _reprefix(data: bytes, prefix: bytes) -> bytes:
    if prefix:
        out = data.replace(b"<p:", b"<" + prefix + b":").replace(b"</p:", b"</" + prefix + b":")
        return out.replace(b"xmlns:p=", b"xmlns:" + prefix + b"=")
    # default namespace on the root, children explicitly reset to no namespace
    out = data.replace(b"<p:FatturaElettronica xmlns:p=", b"<FatturaElettronica xmlns=")
    out = out.replace(b"</p:FatturaElettronica>", b"</FatturaElettronica>")
    out = out.replace(b"<FatturaElettronicaHeader>", b'<FatturaElettronicaHeader xmlns="">')
    return out.replace(b"<FatturaElettronicaBody>", b'<FatturaElettronicaBody xmlns="">')


@pytest.mark.parametrize("prefix", [b"ns2", b"q1", b"ns3", b""])
def test_any_prefix_or_default_namespace(prefix: bytes, xsd123: Any) -> None:
    inv = invoice()
    data = _reprefix(write(inv), prefix)
    assert xsd_errors(xsd123, data) == []
    assert parse_report(data).findings == ()
    assert parse(data) == inv


def test_default_namespace_leaking_into_children_is_read_but_flagged(xsd123: Any) -> None:
    data = write(invoice()).replace(b"<p:FatturaElettronica xmlns:p=",
                                    b"<FatturaElettronica xmlns=")
    data = data.replace(b"</p:FatturaElettronica>", b"</FatturaElettronica>")
    assert xsd_errors(xsd123, data) != []
    result = parse_report(data)
    assert result.invoice == invoice()
    assert any("unqualified" in f.message_en for f in result.findings)


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "latin1", "windows-1252"])
def test_declared_single_byte_encodings(encoding: str) -> None:
    inv = _inv_with("CANTÙ àèìòù")
    text = write(inv).decode("utf-8").replace('encoding="UTF-8"', f'encoding="{encoding}"')
    data = text.encode("cp1252" if "1252" in encoding else "latin-1")
    assert b"\xd9" in data  # really single-byte
    assert sniff(data).encoding == encoding
    assert parse(data) == inv


def test_cp1252_specific_characters_decode_but_are_flagged() -> None:
    inv = _inv_with("L’ORO")  # U+2019 is 0x92 in cp1252, outside Latin-1: XSD refuses it
    text = write(inv).decode().replace('encoding="UTF-8"', 'encoding="windows-1252"')
    result = parse_report(text.encode("cp1252"))
    assert result.invoice == inv
    assert [f.code for f in validate_bytes(text.encode("cp1252"))] == ["00200"]


def test_utf8_bom() -> None:
    inv = _inv_with("CANTÙ")
    data = b"\xef\xbb\xbf" + write(inv)
    assert sniff(data).bom is True
    assert parse(data) == inv


def test_no_xml_declaration() -> None:
    data = write(invoice()).split(b"\n", 1)[1]
    assert parse(data) == invoice()


def test_lot_of_three_bodies(xsd123: Any) -> None:
    inv = invoice(body(numero="1"), body(numero="2"), body(numero="3"))
    data = write(inv)
    assert xsd_errors(xsd123, data) == []
    back = parse(data)
    assert [b.dati_generali.dati_generali_documento.numero for b in back.bodies] == ["1", "2",
                                                                                    "3"]


def test_xades_signature_is_ignored(xsd123: Any) -> None:
    sig = (b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
           b'<ds:CanonicalizationMethod Algorithm="x"/><ds:SignatureMethod Algorithm="y"/>'
           b'<ds:Reference><ds:DigestMethod Algorithm="z"/><ds:DigestValue>AA==</ds:DigestValue>'
           b"</ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue>"
           b"</ds:Signature>")
    data = write(invoice()).replace(b"</p:FatturaElettronica>", sig + b"</p:FatturaElettronica>")
    assert xsd_errors(xsd123, data) == []
    assert sniff(data).xades_signed is True
    result = parse_report(data)
    assert result.findings == () and result.invoice == invoice()


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d.replace(b"<Quantita>1.00</Quantita>", b"<Quantita>1</Quantita>"), "lexical"),
    (lambda d: d.replace(b"<Divisa>EUR</Divisa>", b"<Divisa>EUR</Divisa><Foo>1</Foo>"),
     "unexpected"),
    (lambda d: d.replace(b"<Numero>1</Numero>", b"<Numero>1</Numero><Numero>2</Numero>"),
     "repeated"),
    (lambda d: d.replace(b"<Divisa>EUR</Divisa>", b"<Divisa a='1'>EUR</Divisa>"), "attributes"),
    (lambda d: d.replace(b"<DatiGenerali>", b"<DatiGenerali>oops"), "text"),
    (lambda d: d.replace(b"<Data>2024-03-01</Data>", b"<Data>01/03/2024</Data>"), "date"),
])
def test_reader_reports_what_the_model_cannot_carry(mutate: Any, needle: str,
                                                    xsd123: Any) -> None:
    data = mutate(write(invoice()))
    assert xsd_errors(xsd123, data) != []
    findings = validate_bytes(data)
    assert any(needle in f.message_en and f.code == "00200" for f in findings), findings


def test_missing_mandatory_element_reported_by_structure(xsd123: Any) -> None:
    data = write(invoice()).replace(b"<Divisa>EUR</Divisa>", b"")
    assert xsd_errors(xsd123, data) != []
    assert any(f.xpath.endswith("/DatiGeneraliDocumento/Divisa") for f in validate_bytes(data))


def test_empty_nazione_is_valid_like_the_xsd_default(xsd123: Any) -> None:
    data = write(invoice()).replace(b"<Nazione>IT</Nazione>", b"<Nazione/>", 1)
    assert xsd_errors(xsd123, data) == []
    inv = parse(data)
    assert inv.header.cedente_prestatore.sede.nazione == ""  # XSD default: means IT
    assert validate_bytes(data) == []
    assert parse(write(inv)) == inv


FSM10 = (b'<?xml version="1.0"?><p:FatturaElettronicaSemplificata versione="FSM10" '
         b'xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0">'
         b"</p:FatturaElettronicaSemplificata>")
LEGACY = (b'<?xml version="1.0" encoding="latin1"?><!-- old --><a:FatturaElettronica '
          b'versione="1.1" xmlns:a="http://www.fatturapa.gov.it/sdi/fatturapa/v1.1">'
          b"</a:FatturaElettronica>")


def test_fsm10_and_legacy_refused_with_their_name() -> None:
    assert sniff(FSM10).kind is FormatKind.FSM10
    with pytest.raises(UnsupportedFormat) as exc:
        parse(FSM10)
    assert exc.value.kind == "FSM10"
    assert sniff(LEGACY).kind is FormatKind.LEGACY_1_1
    with pytest.raises(UnsupportedFormat, match=r"legacy-1\.1"):
        parse(LEGACY)


def test_not_an_invoice_and_malformed_and_doctype() -> None:
    assert sniff(b"<html><body/></html>").kind is FormatKind.NOT_INVOICE
    with pytest.raises(NotAnInvoice):
        parse(b"<html><body/></html>")
    with pytest.raises(InvalidXml):
        parse(write(invoice())[:-30])
    doctype = write(invoice()).replace(b"\n<p:", b'\n<!DOCTYPE x [<!ENTITY e "x">]>\n<p:', 1)
    assert sniff(doctype).kind is FormatKind.FPR12
    with pytest.raises(InvalidXml, match="DOCTYPE"):
        parse(doctype)
    bad_versione = write(invoice()).replace(b'versione="FPR12"', b'versione="FPR13"')
    assert sniff(bad_versione).kind is FormatKind.BAD_VERSIONE
    assert {f.code for f in validate_bytes(bad_versione)} == {"00200", "00428"}
