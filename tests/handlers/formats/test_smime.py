"""S/MIME: the PEC provider's signature on real receipts and envelopes (ref/pec)."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms

from handlers.formats import smime
from handlers.formats.sig_common import Failure
from handlers.formats.trust import TrustStore
from tests.support.ref import ref_bytes

UTC = dt.UTC
ARUBA = ["accettazione_IT03339130126_00009.eml", "avvenuta-consegna_IT03339130126_00009.eml"]
# domain.md §4.2: the Sogei envelopes were altered by the source repo's tooling (whitespace):
# they must be reported as tampered, with the message still readable.
SOGEI = ["sdi_MC_mancata-consegna_141107829.eml", "sdi_RC_ricevuta-di-consegna_6782414.eml",
         "sdi_invio-file_7339338_broken-xml.eml", "sdi_invio-file_7339338_fattura-e-MT.eml",
         "sdi_invio-file_7339338_p7m-base64.eml"]


def _agid_ca1() -> TrustStore:
    """AgID CA1 (the PEC providers' issuing CA) taken from the Aruba receipt's own CMS bag."""
    parts = smime.split_signed(ref_bytes("pec", ARUBA[0]))
    sd = cms.ContentInfo.load(parts.signature)["content"]
    certs = [c.chosen for c in sd["certificates"]]
    ca = next(c for c in certs if c.subject.native.get("common_name") == "AgID CA1")
    return TrustStore.from_bytes([ca.dump()])


@pytest.mark.parametrize("name", ARUBA)
def test_aruba_receipts_verify(name: str) -> None:
    data = ref_bytes("pec", name)
    assert b"\r\n" not in data  # stored with LF endings: canonicalisation is what makes it pass
    verdict = smime.verify(data, _agid_ca1())
    assert verdict.ok, verdict.reason
    assert "Posta Certificata ARUBA PEC" in (verdict.signer_subject or "")
    assert verdict.digest_algorithm == "sha1"
    assert verdict.signing_time is not None and verdict.signing_time.date() == dt.date(2018, 11, 13)
    assert len(verdict.chain) == 2
    no_anchor = smime.verify(data, TrustStore())
    assert (no_anchor.failure, no_anchor.intact) == (Failure.NO_TRUST_ANCHORS, True)


@pytest.mark.parametrize("name", ARUBA)
def test_crlf_input_verifies_too_and_edits_do_not(name: str) -> None:
    data = ref_bytes("pec", name).replace(b"\n", b"\r\n")
    assert smime.verify(data, TrustStore()).intact
    old, new = b"IT03339130126_00009", b"IT03339130126_00008"
    # the outer headers are not signed (RFC 1847): editing the Subject changes nothing
    assert smime.verify(data.replace(old, new, 1), TrustStore()).intact
    body = data.index(b"\r\n\r\n")
    edited = data[:body] + data[body:].replace(old, new, 1)
    assert edited != data
    assert smime.verify(edited, TrustStore()).failure is Failure.TAMPERED


def test_signed_part_excludes_the_crlf_before_the_boundary() -> None:
    parts = smime.split_signed(ref_bytes("pec", ARUBA[0]))
    assert parts.content.startswith(b"Content-Type: multipart/mixed")
    assert parts.content.endswith(b"--\r\n") or not parts.content.endswith(b"\r\n\r\n")
    assert parts.protocol == "application/x-pkcs7-signature" and parts.micalg == "sha1"


@pytest.mark.parametrize("name", SOGEI)
def test_sogei_envelopes_as_stored_are_reported_tampered(name: str) -> None:
    verdict = smime.verify(ref_bytes("pec", name), _agid_ca1())
    assert (verdict.ok, verdict.failure, verdict.intact) == (False, Failure.TAMPERED, False)
    assert "Posta Certificata Sogei" in (verdict.signer_subject or "")


@pytest.mark.parametrize(
    ("data", "failure"),
    [
        (b"Subject: x\r\n\r\nhello\r\n", Failure.UNSIGNED),
        (b"no header separator", Failure.MALFORMED),
        (b'Content-Type: multipart/signed; boundary="b"\r\n\r\n--b\r\nA\r\n--b--\r\n',
         Failure.MALFORMED),
        (b'Content-Type: multipart/signed; boundary="b"\r\n\r\n--b\r\nA\r\n--b\r\n'
         b"Content-Type: application/pkcs7-signature\r\n\r\nnot der\r\n--b--\r\n",
         Failure.MALFORMED),
    ],
)
def test_malformed_messages_give_verdicts(data: bytes, failure: Failure) -> None:
    assert smime.verify(data, TrustStore()).failure is failure


def test_truncated_message_never_raises() -> None:
    data = ref_bytes("pec", ARUBA[0])
    for cut in range(0, len(data), 97):
        verdict = smime.verify(data[:cut], TrustStore())
        assert not verdict.ok
