"""Every real/official file in ref/invoices gets the verdict SOURCES.md records, and the model's
structural verdict agrees with the official 1.2.3 XSD on each of them."""

from __future__ import annotations

import base64

import pytest
from asn1crypto import cms

from handlers.formats.fatturapa import (
    BrokenNamespace,
    FormatKind,
    UnsupportedFormat,
    check_structure,
    parse,
    parse_report,
    sniff,
    validate,
    validate_bytes,
    write,
)
from tests.support.ref import ref_bytes

from .conftest import xsd_errors

XML_FILES = [
    "IT01234567890_FPA01.xml",
    "IT01234567890_FPA02.xml",
    "IT01234567890_FPA03.xml",
    "IT01234567890_FPR01.xml",
    "IT01234567890_FPR02.xml",
    "IT01234567890_FPR03.xml",
    "IT01234567890_FPR06.xml",
    "IT01234567890_x05mX.xml",
    "IT08973230967_6zZcm.xml",
    "ITBNCMRA80A01D548T_20001.xml",
]
# SdI content findings expected on the XSD-valid files: the official FPR03 example (as the
# TESTSDI simulator reformatted it) declares ImponibileImporto 27.00 on lines totalling 25.00.
EXPECTED_CONTENT = {"IT01234567890_FPR03.xml": ["00422"]}
EXPECTED_KIND = {
    "IT01234567890_FPA01.xml": "FPA12",
    "IT01234567890_FPA02.xml": "FPA12",
    "IT01234567890_FPA03.xml": "FPA12",
}
BODIES = {"IT01234567890_FPA03.xml": 2, "IT01234567890_FPR03.xml": 2}


def p7m_payload(data: bytes) -> bytes:
    """Test-only CAdES unwrap (DER, or base64 without armour) with asn1crypto."""
    if data[:1] != b"\x30":
        data = base64.b64decode(b"".join(data.split()))
    info = cms.ContentInfo.load(data)
    return bytes(info["content"]["encap_content_info"]["content"].native)


@pytest.mark.parametrize("name", XML_FILES)
def test_valid_ref_invoice(name: str, xsd123: object) -> None:
    data = ref_bytes("invoices", name)
    assert xsd_errors(xsd123, data) == []  # type: ignore[arg-type]
    result = parse_report(data)
    assert result.findings == ()
    assert check_structure(result.invoice) == []  # agrees with the XSD: valid
    assert sniff(data).kind == EXPECTED_KIND.get(name, "FPR12")
    assert len(result.invoice.bodies) == BODIES.get(name, 1)
    codes = sorted(f.code for f in validate(result.invoice))
    assert codes == EXPECTED_CONTENT.get(name, [])
    assert [f.code for f in validate_bytes(data)] == codes


@pytest.mark.parametrize("name", XML_FILES)
def test_ref_invoice_rewrites_identically(name: str, xsd123: object) -> None:
    inv = parse(ref_bytes("invoices", name))
    out = write(inv)
    assert xsd_errors(xsd123, out) == []  # type: ignore[arg-type]
    assert parse(out) == inv


def test_fpr03_00422_points_at_first_body() -> None:
    (f,) = validate_bytes(ref_bytes("invoices", "IT01234567890_FPR03.xml"))
    assert f.xpath == (
        "/FatturaElettronica/FatturaElettronicaBody[1]/DatiBeniServizi/"
        "DatiRiepilogo[1]/ImponibileImporto"
    )


def test_broken_default_namespace_is_named() -> None:
    data = ref_bytes("invoices", "ZGEXQROO37831_anonimizzata.xml")
    info = sniff(data)
    assert info.kind is FormatKind.BROKEN_NAMESPACE
    assert "whitespace" in info.detail
    with pytest.raises(BrokenNamespace, match="namespace"):
        parse(data)
    (f,) = validate_bytes(data)
    assert f.code == "00200" and "BrokenNamespace" in f.message_en


@pytest.mark.parametrize(
    "name", ["IT01234567890_FPR03.xml.p7m", "IT01234567890_FPR03.base64.xml.p7m"]
)
def test_cades_p7m_is_recognised_and_payload_is_valid(name: str, xsd123: object) -> None:
    data = ref_bytes("invoices", name)
    assert sniff(data).kind is FormatKind.CMS
    with pytest.raises(UnsupportedFormat) as exc:
        parse(data)
    assert exc.value.kind == "p7m"
    payload = p7m_payload(data)
    assert xsd_errors(xsd123, payload) == []  # type: ignore[arg-type]
    inv = parse(payload)  # OCA's own FPR03 variant: IdCodice 05979361218
    assert inv.header.dati_trasmissione.id_trasmittente.id_codice == "05979361218"
    assert check_structure(inv) == []


def test_legacy_11_is_recognised_not_misparsed() -> None:
    payload = p7m_payload(ref_bytes("invoices", "IT05979361218_002.xml.p7m"))
    info = sniff(payload)
    assert info.kind is FormatKind.LEGACY_1_1
    assert info.encoding is not None and info.encoding.lower() == "latin1"
    with pytest.raises(UnsupportedFormat) as exc:
        parse(payload)
    assert exc.value.kind == "legacy-1.1"
    (f,) = validate_bytes(payload)
    assert "legacy-1.1" in f.message_en
