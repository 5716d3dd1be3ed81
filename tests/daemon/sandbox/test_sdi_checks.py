"""SdI's reception checks (pure): each stage's code, SdI's stage order, signatures, duplicates.

Real invoices from ../shared/ref/invoices and invoices written by `fatturapa.write`; signatures
made with throw-away sandbox keys (CAdES and XAdES) and then tampered with.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from daemon.sandbox.sdi_checks import (
    MAX_FILE_BYTES,
    InvoiceKey,
    ZipProblem,
    check_file,
    open_zip,
)
from handlers.formats.fatturapa import write
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sdi_types import SdiFlow
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore
from handlers.formats.xades_sign import sign_xades_bes
from tests.handlers.formats.fatturapa import factory
from tests.support.ref import ref_bytes

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2025, 6, 1, 11, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki() -> tuple[bytes, Pkcs12Signer]:
    return make_sandbox_pki("Fornitore")


def _check(name: str, content: bytes, *, names: set[str] | None = None,
           accepted: set[InvoiceKey] | None = None, trust: TrustStore | None = None
           ) -> list[str]:
    verdict = check_file(name, content, received=NOW, names_seen=names or set(),
                         accepted=accepted or set(), trust=trust)
    return [e.codice for e in verdict.errors]


def _xml(numero: str = "1", **kw: object) -> bytes:
    return write(factory.invoice(factory.body(numero=numero), **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["IT01234567890_FPR01.xml", "IT01234567890_FPR02.xml",
                                  "IT01234567890_x05mX.xml", "IT08973230967_6zZcm.xml",
                                  "ITBNCMRA80A01D548T_20001.xml",
                                  "IT01234567890_FPR03.xml.p7m",
                                  "IT01234567890_FPR03.base64.xml.p7m"])
def test_real_invoices_pass(name: str) -> None:
    content = ref_bytes("invoices", name)
    # the base64 p7m's name has a dot in the progressive: SdI would refuse the *name*
    sent_as = name.replace("FPR03.base64", "FPR3B")
    verdict = check_file(sent_as, content, received=NOW, names_seen=set(), accepted=set())
    assert verdict.errors == (), verdict.errors
    assert verdict.flow is SdiFlow.B2B and verdict.invoices


def test_real_content_error_00422() -> None:
    assert _check("IT01234567890_FPR03.xml",
                  ref_bytes("invoices", "IT01234567890_FPR03.xml")) == ["00422"]


def test_stage_order_name_first() -> None:
    # broken namespace (00200) but the name is checked first (00001)
    data = ref_bytes("invoices", "ZGEXQROO37831_anonimizzata.xml")
    assert _check("ZGEXQROO37831_anonimizzata.xml", data) == ["00001"]
    assert _check("IT01234567890_ZGEXQ.xml", data) == ["00200"]


def test_legacy_format_in_a_p7m_is_00200() -> None:
    data = ref_bytes("invoices", "IT05979361218_002.xml.p7m")  # FatturaPA 1.1, signed in 2014
    assert _check("IT05979361218_002.xml.p7m", data) == ["00200"]


@pytest.mark.parametrize(("name", "code"), [
    ("IT01234567890_00001.pdf", "00001"), ("IT0123_00001.xml", "00001"),
    ("IT01234567890_000001.xml", "00001"), ("IT01234567890_00001.zip", "00001"),
])
def test_file_names(name: str, code: str) -> None:
    assert _check(name, _xml()) == [code]


def test_name_reuse_and_size() -> None:
    assert _check("IT01234567890_00001.xml.p7m", _xml(),
                  names={"IT01234567890_00001"}) == ["00002"]
    assert _check("IT01234567890_00001.xml", b" " * (MAX_FILE_BYTES + 1)) == ["00003"]


def test_fpa12_must_be_signed(pki: tuple[bytes, Pkcs12Signer]) -> None:
    xml = _xml(formato="FPA12", codice="UFF001")
    verdict = check_file("IT01234567890_00001.xml", xml, received=NOW, names_seen=set(),
                         accepted=set())
    assert [e.codice for e in verdict.errors] == ["00102"] and verdict.flow is SdiFlow.PA
    signed = sign_cades_bes(xml, pki[1], signing_time=SIGNED_AT)
    assert _check("IT01234567890_00001.xml.p7m", signed) == []
    xades = sign_xades_bes(xml, pki[1], signing_time=SIGNED_AT)
    assert _check("IT01234567890_00001.xml", xades) == []


def test_signatures_intact_tampered_untrusted_late(pki: tuple[bytes, Pkcs12Signer]) -> None:
    ca, signer = pki
    xml = _xml()
    p7m = sign_cades_bes(xml, signer, signing_time=SIGNED_AT)
    tampered = p7m.replace(b"ALPHA SRL", b"ALPHA SPA")
    assert _check("IT01234567890_00001.xml.p7m", tampered) == ["00102"]
    assert _check("IT01234567890_00001.xml.p7m", b"0\x82garbage") == ["00102"]
    xades = sign_xades_bes(xml, signer, signing_time=SIGNED_AT)
    assert _check("IT01234567890_00001.xml", xades.replace(b"ALPHA SRL", b"ALPHA SPA")) \
        == ["00102"]
    # any intact signature passes; with a trust store, an unknown CA is 00104
    other_ca, _ = make_sandbox_pki("Altro")
    assert _check("IT01234567890_00001.xml.p7m", p7m,
                  trust=TrustStore.from_bytes([other_ca])) == ["00104"]
    assert _check("IT01234567890_00001.xml.p7m", p7m, trust=TrustStore.from_bytes([ca])) == []
    late = sign_cades_bes(xml, signer, signing_time=NOW + dt.timedelta(hours=1))
    assert _check("IT01234567890_00001.xml.p7m", late) == ["00105"]
    expired = make_sandbox_pki("Scaduto", not_after=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))[1]
    old = sign_cades_bes(xml, expired, signing_time=SIGNED_AT)
    assert _check("IT01234567890_00001.xml.p7m", old) == ["00100"]


def test_duplicates_00404_and_00409() -> None:
    key = InvoiceKey("IT01234567890", 2024, "1", "TD01")
    assert _check("IT01234567890_00001.xml", _xml("1"), accepted={key}) == ["00404"]
    assert _check("IT01234567890_00001.xml", _xml("2"), accepted={key}) == []
    # a credit note with the same number is another document (type in the key)
    credit = write(factory.invoice(factory.body(numero="1", tipo="TD04")))
    assert _check("IT01234567890_00001.xml", credit, accepted={key}) == []
    lot = write(factory.invoice(factory.body(numero="5"), factory.body(numero="5")))
    assert _check("IT01234567890_00001.xml", lot) == ["00409"]
    verdict = check_file("IT01234567890_00001.xml", _xml("9"), received=NOW, names_seen=set(),
                         accepted=set())
    assert [r.key for r in verdict.invoices] == [InvoiceKey("IT01234567890", 2024, "9", "TD01")]
    assert verdict.codice_destinatario == "ABC1234"


def test_content_errors_come_with_duplicates_format_errors_alone() -> None:
    bad = write(factory.invoice(factory.body((factory.line(totale=factory.D("99.00")),),
                                             numero="1")))
    key = InvoiceKey("IT01234567890", 2024, "1", "TD01")
    codes = _check("IT01234567890_00001.xml", bad, accepted={key})
    assert "00423" in codes and "00404" in codes
    assert _check("IT01234567890_00001.xml", b"<FatturaElettronica/>") == ["00200"]


def test_open_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("IT01234567890_00001.xml", b"a")
        archive.writestr("dir/", b"")
    assert open_zip(buffer.getvalue()) == [("IT01234567890_00001.xml", b"a")]
    for junk in (b"PK\x05\x06" + bytes(18), b"not a zip"):
        with pytest.raises(ZipProblem):
            open_zip(junk)
