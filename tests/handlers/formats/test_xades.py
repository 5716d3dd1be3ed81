"""XAdES: SdI's real signed notifications, one-character tampering, enveloped sign/verify."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from handlers.formats import xades
from handlers.formats.sig_common import Failure
from handlers.formats.trust import TrustStore
from handlers.formats.xades_sign import AlreadySigned, sign_xades_bes
from handlers.formats.xmlsafe import parse
from tests.handlers.formats import _pki
from tests.support.ref import ref_bytes

UTC = dt.UTC
RC = ("notifications", "IT03339130126_00009_RC_003.xml")
MC = ("notifications", "IT14627831002_02621_MC_001.xml")
SDI_SUBJECT = (
    "CN=Sistema Interscambio Fattura PA,OU=Servizi Telematici,O=Agenzia delle Entrate,C=IT"
)


@pytest.fixture(scope="module")
def agenzia() -> TrustStore:
    return TrustStore.from_bytes([ref_bytes("certs", "caentrate.cer")])


@pytest.fixture(scope="module")
def pki() -> dict[str, _pki.Issued]:
    root = _pki.make_ca()
    return {"root": root, "rsa": _pki.make_signer(root), "ec": _pki.make_signer(
        root, "EC SIGNER", key=_pki.ec_key())}


@pytest.mark.parametrize(
    ("name", "signed_at"),
    [(RC, dt.datetime(2018, 11, 13, 15, 47, 32, tzinfo=UTC)),
     (MC, dt.datetime(2019, 1, 4, 20, 34, tzinfo=UTC))],
)
def test_real_sdi_notifications_verify_but_old_ca_is_not_the_current_one(
    name: tuple[str, str], signed_at: dt.datetime, agenzia: TrustStore
) -> None:
    # SOURCES.md: the 2017-2020 SdI certificate was issued by an older "CA Agenzia delle Entrate"
    # (its DN has OU=Servizi Telematici); caentrate.cer is the 2018 CA. Digests and the
    # signature value verify, so the verdict is "intact, chain untrusted" — never "tampered".
    verdict = xades.verify(ref_bytes(*name), agenzia)
    assert (verdict.ok, verdict.failure, verdict.intact) == (False, Failure.UNTRUSTED_CHAIN, True)
    assert verdict.signer_subject == SDI_SUBJECT
    assert verdict.signing_time == signed_at == verdict.validated_at
    assert verdict.cert_not_after == dt.datetime(2020, 5, 24, 12, 34, 17, tzinfo=UTC)
    assert verdict.digest_algorithm == "sha256"
    empty = xades.verify(ref_bytes(*name), TrustStore())
    assert (empty.failure, empty.intact) == (Failure.NO_TRUST_ANCHORS, True)


def test_real_notification_checked_today_is_expired(agenzia: TrustStore) -> None:
    verdict = xades.verify(ref_bytes(*RC), agenzia, at=dt.datetime(2024, 1, 1, tzinfo=UTC))
    assert (verdict.failure, verdict.intact) == (Failure.EXPIRED_AT_SIGNING, True)


def test_current_sdi_certificate_chains_to_caentrate(agenzia: TrustStore) -> None:
    from handlers.formats.trust import load_certificates

    (sdi,) = load_certificates(ref_bytes("certs", "Sistema_Interscambio_Fattura_PA.cer"))
    result = agenzia.check_signer(sdi, [], dt.datetime(2025, 6, 1, tzinfo=UTC))
    assert result.ok, result.reason
    assert result.chain[-1] == "CN=CA Agenzia delle Entrate,O=Agenzia delle Entrate,C=IT"


ONE_CHAR_EDITS = {
    "RC body IdentificativoSdI": (RC, b">6782414</Ident", b">6782415</Ident"),
    "RC body attribute": (RC, b'versione="1.0"', b'versione="1.1"'),
    "RC signing time": (RC, b"2018-11-13T15:47:32Z", b"2018-11-13T15:47:33Z"),
    "RC SignedInfo digest": (RC, b"y35zgnQgQDh9", b"y35zgnQgQDh8"),
    "RC SignatureValue": (RC, b"aonOCDK/yUya", b"aonOCDK/yUyb"),
    "RC text after signature": (RC, b"</ds:Signature></ns3", b"</ds:Signature> </ns3"),
    "MC body Hash": (MC, b"<Hash>91e8b", b"<Hash>91e8c"),
    "MC KeyInfo certificate": (MC, b"MIIEZTCCA02gAwIBAgIITPn9", b"MIIEZTCCA02gAwIBAgIITPn8"),
    "MC Note element": (MC, b"<Note/>", b"<Nota/>"),
}


@pytest.mark.parametrize("edit", sorted(ONE_CHAR_EDITS))
def test_one_character_edit_breaks_the_signature(edit: str, agenzia: TrustStore) -> None:
    name, old, new = ONE_CHAR_EDITS[edit]
    data = ref_bytes(*name)
    assert data.count(old) == 1
    verdict = xades.verify(data.replace(old, new), agenzia)
    assert not verdict.ok
    assert not verdict.intact
    assert verdict.failure in {Failure.TAMPERED, Failure.MALFORMED}


def test_insignificant_serialisation_change_keeps_signature() -> None:
    # C14N normalises attribute quoting: a '"' → "'" change is not tampering.
    data = ref_bytes(*RC).replace(b'versione="1.0"', b"versione='1.0'")
    assert xades.verify(data, TrustStore()).intact


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(b"0123456789AZaz"))
def test_digit_or_letter_edits_never_crash_and_never_pass(pos: int, char: int) -> None:
    data = ref_bytes(*MC)
    pos %= len(data)
    if data[pos] == char or not chr(data[pos]).isalnum():
        return
    verdict = xades.verify(data[:pos] + bytes([char]) + data[pos + 1 :], TrustStore())
    assert not verdict.ok


def test_unsigned_and_malformed_documents() -> None:
    official = ref_bytes("notifications", "IT01234567890_11111_RC_001.xml")
    unsigned = xades.verify(official, TrustStore())
    assert unsigned.failure is Failure.UNSIGNED
    assert xades.verify(b"<a><b></a>", TrustStore()).failure is Failure.MALFORMED
    assert xades.verify(b"", TrustStore()).failure is Failure.MALFORMED
    doctype = b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'
    assert xades.verify(doctype, TrustStore()).failure is Failure.MALFORMED


def test_signature_wrapping_with_duplicate_id_is_refused() -> None:
    data = ref_bytes(*RC)
    dup = b'<Extra Id="SignedProperties_1"/>'
    verdict = xades.verify(data.replace(b"<Destinatario/>", b"<Destinatario/>" + dup), TrustStore())
    assert verdict.failure in {Failure.MALFORMED, Failure.TAMPERED} and not verdict.intact


def test_unknown_filter2_xpath_is_unsupported() -> None:
    data = ref_bytes(*RC).replace(b"/descendant::ds:Signature", b"//*[1]")
    assert xades.verify(data, TrustStore()).failure is Failure.UNSUPPORTED


# --- our own enveloped signatures --------------------------------------------------------------


@pytest.mark.parametrize("invoice", ["IT01234567890_FPR01.xml", "ITBNCMRA80A01D548T_20001.xml",
                                     "IT08973230967_6zZcm.xml"])
@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_sign_and_verify_invoice(invoice: str, which: str, pki: dict[str, _pki.Issued]) -> None:
    original = ref_bytes("invoices", invoice)
    when = dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    signed = sign_xades_bes(original, _pki.signer_of(pki[which]), signing_time=when)
    root = parse(signed)
    assert etree.QName(root[-1]).localname == "Signature"  # enveloped, last child
    verdict = xades.verify(signed, _pki.store(pki["root"]))
    assert verdict.ok, verdict.reason
    assert verdict.signing_time == when and len(verdict.chain) == 2
    # the signed document still carries the same invoice (C14N-equal once the signature goes)
    del root[-1]
    assert etree.tostring(root, method="c14n") == etree.tostring(parse(original), method="c14n")
    tampered = signed.replace(b"<Numero>", b"<Numero>9", 1)
    assert xades.verify(tampered, _pki.store(pki["root"])).failure is Failure.TAMPERED
    with pytest.raises(AlreadySigned):
        sign_xades_bes(signed, _pki.signer_of(pki[which]))


def test_xades_signer_cert_checks(pki: dict[str, _pki.Issued]) -> None:
    invoice = ref_bytes("invoices", "IT01234567890_FPR01.xml")
    expired = _pki.make_signer(pki["root"], key=_pki.ec_key(),
                               not_before=dt.datetime(2018, 1, 1, tzinfo=UTC),
                               not_after=dt.datetime(2021, 1, 1, tzinfo=UTC))
    signed = sign_xades_bes(invoice, _pki.signer_of(expired),
                            signing_time=dt.datetime(2019, 6, 1, tzinfo=UTC))
    trust = _pki.store(pki["root"])
    assert xades.verify(signed, trust).ok
    late = xades.verify(signed, trust, at=dt.datetime.now(UTC))
    assert (late.failure, late.intact) == (Failure.EXPIRED_AT_SIGNING, True)
    other_root = _pki.store(_pki.make_ca("Other"))
    assert xades.verify(signed, other_root).failure is Failure.UNTRUSTED_CHAIN
    # a different certificate in KeyInfo than the one named by SigningCertificate
    other = _pki.make_signer(pki["root"], "OTHER", key=_pki.ec_key())
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    old = base64.b64encode(expired.cert.public_bytes(Encoding.DER))
    swapped = signed.replace(old, base64.b64encode(other.cert.public_bytes(Encoding.DER)))
    verdict = xades.verify(swapped, trust)
    assert not verdict.ok and verdict.failure in {Failure.SIGNER_CERT, Failure.TAMPERED}
