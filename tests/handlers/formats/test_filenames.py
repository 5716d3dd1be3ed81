"""SdI file names (domain.md §2) and the attachment-name sanitiser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.formats.filenames import (
    PROGRESSIVE_CAPACITY,
    InvalidFileName,
    NotificationType,
    build_invoice_file_name,
    decode_progressive,
    encode_progressive,
    invoice_stem,
    is_valid_invoice_file_name,
    notification_file_name,
    parse_invoice_file_name,
    parse_notification_file_name,
    safe_filename,
)
from tests.support.ref import ref_path

# --- invoice file names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "country", "id_codice", "progressive", "extension"),
    [
        ("IT01234567890_FPA01.xml", "IT", "01234567890", "FPA01", ".xml"),
        ("IT01234567890_FPR03.xml.p7m", "IT", "01234567890", "FPR03", ".xml.p7m"),
        ("IT08973230967_6zZcm.xml", "IT", "08973230967", "6zZcm", ".xml"),  # mixed case, real
        ("ITBNCMRA80A01D548T_20001.xml", "IT", "BNCMRA80A01D548T", "20001", ".xml"),  # 16-char CF
        ("IT01234567890_00001.zip", "IT", "01234567890", "00001", ".zip"),
        ("FR12345678910_00003.xml", "FR", "12345678910", "00003", ".xml"),
        ("DE12_1.xml", "DE", "12", "1", ".xml"),  # foreign: IdCodice 2..28
    ],
)
def test_parse_valid_invoice_names(
    name: str, country: str, id_codice: str, progressive: str, extension: str
) -> None:
    parsed = parse_invoice_file_name(name)
    assert (parsed.country, parsed.id_codice, parsed.progressive, parsed.extension) == (
        country,
        id_codice,
        progressive,
        extension,
    )
    assert str(parsed) == name
    assert is_valid_invoice_file_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ZGEXQROO37831_anonimizzata.xml",  # real, not conformant (SOURCES.md)
        "IT0123456789_00001.xml",  # IT IdCodice 10 chars
        "IT01234567890123456_00001.xml",  # IT IdCodice 17 chars
        "D1_00001.xml",  # foreign IdCodice 1 char
        "it01234567890_00001.xml",  # lower-case country
        "IT01234567890_000001.xml",  # progressive 6 chars
        "IT01234567890_0000-.xml",  # bad char in progressive
        "IT01234567890_00001.p7m",  # extension
        "IT01234567890_00001.XML",
        "IT01234567890_00001.xml.p7m.p7m",
        "IT01234567890-00001.xml",  # separator
        "IT01234567890_.xml",
        "IT01234567890_00001_RC_001.xml",  # that is a message, not an invoice
        "../IT01234567890_00001.xml",
        "IT01234567890_00001.xml\n",
        "",
    ],
)
def test_invalid_invoice_names_are_refused(name: str) -> None:
    assert not is_valid_invoice_file_name(name)
    with pytest.raises(InvalidFileName):
        parse_invoice_file_name(name)


def test_every_reference_invoice_name_is_judged_as_sources_md_says() -> None:
    invoices = ref_path("invoices")
    names = sorted(p.name for p in invoices.iterdir())
    valid = {n for n in names if is_valid_invoice_file_name(n)}
    # The only non-conformant names: the anonymised file, and the "base64" variant whose
    # extra ".base64" is OCA's renaming, not an SdI name.
    assert set(names) - valid == {
        "ZGEXQROO37831_anonimizzata.xml",
        "IT01234567890_FPR03.base64.xml.p7m",
    }


def test_build_invoice_name() -> None:
    assert build_invoice_file_name("IT", "01234567890", 1) == "IT01234567890_00001.xml"
    assert build_invoice_file_name("IT", "01234567890", 36, ".xml.p7m") == (
        "IT01234567890_00010.xml.p7m"
    )
    assert build_invoice_file_name("IT", "BNCMRA80A01D548T", "6zZcm") == (
        "ITBNCMRA80A01D548T_6zZcm.xml"
    )
    for bad in [
        ("it", "01234567890", 1, ".xml"),
        ("IT", "0123456789", 1, ".xml"),
        ("IT", "01234567890", "ABCDEF", ".xml"),
        ("IT", "01234567890", 1, ".p7m"),
        ("IT", "0123456789_", 1, ".xml"),
    ]:
        with pytest.raises(InvalidFileName):
            build_invoice_file_name(*bad)


# --- progressive --------------------------------------------------------------------------


def test_progressive_known_values() -> None:
    assert encode_progressive(0) == "00000"
    assert encode_progressive(1) == "00001"
    assert encode_progressive(9) == "00009"
    assert encode_progressive(10) == "0000A"
    assert encode_progressive(35) == "0000Z"
    assert encode_progressive(36) == "00010"
    assert encode_progressive(PROGRESSIVE_CAPACITY - 1) == "ZZZZZ"
    assert PROGRESSIVE_CAPACITY == 36**5


def test_progressive_out_of_range_never_wraps() -> None:
    with pytest.raises(ValueError, match="outside"):
        encode_progressive(PROGRESSIVE_CAPACITY)
    with pytest.raises(ValueError, match="outside"):
        encode_progressive(-1)
    with pytest.raises(TypeError):
        encode_progressive(True)
    with pytest.raises(ValueError, match="alphabet"):
        decode_progressive("abcde")  # lower case is never emitted, so never decoded


@given(st.integers(min_value=0, max_value=PROGRESSIVE_CAPACITY - 2))
def test_progressive_is_a_bijection_and_keeps_order(counter: int) -> None:
    text = encode_progressive(counter)
    following = encode_progressive(counter + 1)
    assert len(text) == 5
    assert text.isalnum()
    assert text.upper() == text  # never differ by case only
    assert decode_progressive(text) == counter
    assert text < following  # string order == numeric order, hence no collision
    assert is_valid_invoice_file_name(f"IT01234567890_{text}.xml")


def test_progressive_exhaustive_prefix_has_no_collision() -> None:
    seen = {encode_progressive(i) for i in range(50_000)}
    assert len(seen) == 50_000


# --- SdI message names ----------------------------------------------------------------------


def test_parse_every_reference_notification_name() -> None:
    expected = {
        "IT01234567890_11111_AT_001.xml": ("IT01234567890_11111", "AT", "001"),
        "IT01234567890_11111_DT_001.xml": ("IT01234567890_11111", "DT", "001"),
        "IT01234567890_11111_EC_001.xml": ("IT01234567890_11111", "EC", "001"),
        "IT01234567890_11111_MC_001.xml": ("IT01234567890_11111", "MC", "001"),
        "IT01234567890_11111_MT_001.xml": ("IT01234567890_11111", "MT", "001"),
        "IT01234567890_11111_NE_001.xml": ("IT01234567890_11111", "NE", "001"),
        "IT01234567890_11111_NS_001.xml": ("IT01234567890_11111", "NS", "001"),
        "IT01234567890_11111_RC_001.xml": ("IT01234567890_11111", "RC", "001"),
        "IT01234567890_11111_SE_001.xml": ("IT01234567890_11111", "SE", "001"),
        # the counter counts every message about the file, not per type (domain.md §2):
        "IT02652600210_00007_MT_002.xml": ("IT02652600210_00007", "MT", "002"),
        "IT03339130126_00009_RC_003.xml": ("IT03339130126_00009", "RC", "003"),
        "IT14627831002_02621_MC_001.xml": ("IT14627831002_02621", "MC", "001"),
    }
    names = sorted(p.name for p in ref_path("notifications").iterdir())
    assert names == sorted(expected)
    for name, (stem, kind, counter) in expected.items():
        parsed = parse_notification_file_name(name)
        assert (parsed.invoice_stem, parsed.type, parsed.counter) == (stem, kind, counter)
        assert parsed.type is NotificationType(kind)
        assert str(parsed) == name


def test_parse_notification_name_parts_and_zip() -> None:
    parsed = parse_notification_file_name("ITBNCMRA80A01D548T_6zZcm_AT_00A.zip")
    assert parsed.country == "IT"
    assert parsed.id_codice == "BNCMRA80A01D548T"
    assert parsed.progressive == "6zZcm"
    assert parsed.counter == "00A"
    assert parsed.extension == ".zip"


@pytest.mark.parametrize(
    "name",
    [
        "IT01234567890_11111_XX_001.xml",  # unknown type
        "IT01234567890_11111_RC_01.xml",  # counter 2 chars
        "IT01234567890_11111_RC_0001.xml",
        "IT01234567890_11111_rc_001.xml",
        "IT01234567890_11111_RC_001.xml.p7m",
        "IT01234567890_11111.xml",
        "IT0123456789_11111_RC_001.xml",
    ],
)
def test_invalid_notification_names(name: str) -> None:
    with pytest.raises(InvalidFileName):
        parse_notification_file_name(name)


def test_build_notification_names() -> None:
    # .xml.p7m is dropped entirely from message names (domain.md §2)
    assert notification_file_name("IT01234567890_11111.xml.p7m", "EC", 1) == (
        "IT01234567890_11111_EC_001.xml"
    )
    assert notification_file_name("IT01234567890_11111.xml", NotificationType.NE, 12) == (
        "IT01234567890_11111_NE_012.xml"
    )
    assert notification_file_name("IT01234567890_11111.xml", "AT", "0A1") == (
        "IT01234567890_11111_AT_0A1.zip"
    )
    assert invoice_stem("IT01234567890_11111.xml.p7m") == "IT01234567890_11111"
    with pytest.raises(ValueError, match="outside"):
        notification_file_name("IT01234567890_11111.xml", "EC", 0)
    with pytest.raises(ValueError, match="outside"):
        notification_file_name("IT01234567890_11111.xml", "EC", 1000)
    with pytest.raises(ValueError, match="XX"):
        notification_file_name("IT01234567890_11111.xml", "XX", 1)
    with pytest.raises(InvalidFileName):
        notification_file_name("invoice.xml", "EC", 1)


# --- safe_filename ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IT01234567890_11111_RC_001.xml", "IT01234567890_11111_RC_001.xml"),
        ("IT01234567890_FPR03.xml.p7m", "IT01234567890_FPR03.xml.p7m"),
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("..", "attachment"),
        ("...", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("   ", "attachment"),
        ("/", "attachment"),
        ("a\x00b\r\n.xml", "ab.xml"),
        ("\u202egnp.exe", "gnp.exe"),  # bidi override dropped
        (".bashrc", "bashrc"),
        ("fattura.xml.", "fattura.xml"),
        ('a<b>c:d"e|f?g*h.xml', "a_b_c_d_e_f_g_h.xml"),
        ("NUL.xml", "_NUL.xml"),
        ("com1", "_com1"),
        ("fattura è.xml", "fattura è.xml"),
    ],
)
def test_safe_filename(raw: str | None, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_caps_length_keeping_extension() -> None:
    result = safe_filename("x" * 300 + ".xml.p7m")
    assert len(result) == 100
    assert result.endswith("x.xml.p7m")
    result = safe_filename("y" * 300)
    assert result == "y" * 100
    assert safe_filename("z" * 300 + ".pdf", max_length=20) == "z" * 16 + ".pdf"


def test_safe_filename_fallback_is_configurable() -> None:
    assert safe_filename("../", fallback="part-3") == "part-3"


@given(st.text(max_size=400))
def test_safe_filename_is_always_safe(raw: str) -> None:
    result = safe_filename(raw)
    assert result
    assert 0 < len(result) <= 100
    assert "/" not in result
    assert "\\" not in result
    assert "\x00" not in result
    assert not result.startswith(".")
    assert all(ord(c) >= 32 for c in result)
    assert safe_filename(result) == result  # idempotent
