"""p7m: unwrap every variant, verify at signing time, sign CAdES-BES, never crash on garbage."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.formats import p7m
from handlers.formats.p7m import Encoding, Failure, MalformedP7m, Pkcs12Signer, TrustStore
from handlers.formats.xmlsafe import parse
from tests.handlers.formats import _pki
from tests.support.ref import ref_bytes

UTC = dt.UTC
FPR03 = ("invoices", "IT01234567890_FPR03.xml.p7m")
FPR03_B64 = ("invoices", "IT01234567890_FPR03.base64.xml.p7m")
LEGACY = ("invoices", "IT05979361218_002.xml.p7m")
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<p:FatturaElettronica versione="FPR12"/>\n'


@pytest.fixture(scope="module")
def pki() -> dict[str, _pki.Issued]:
    root = _pki.make_ca()
    inter = _pki.make_ca("Pecora Test Qualified CA", issuer=root)
    return {
        "root": root,
        "inter": inter,
        "leaf": _pki.make_signer(inter),
        "ec_leaf": _pki.make_signer(root, "EC SIGNER", key=_pki.ec_key()),
        "other_root": _pki.make_ca("Unrelated Root"),
    }


@pytest.fixture(scope="module")
def signed(pki: dict[str, _pki.Issued]) -> bytes:
    signer = _pki.signer_of(pki["leaf"], pki["inter"])
    return p7m.sign_cades_bes(XML, signer, signing_time=dt.datetime(2024, 5, 1, tzinfo=UTC))


# --- helpers building the variants seen in the wild -------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _indef(tag: int, *parts: bytes) -> bytes:
    return bytes([tag, 0x80]) + b"".join(parts) + b"\x00\x00"


def to_ber(der: bytes, chunk: int = 1000) -> bytes:
    """Re-encode a DER p7m as `openssl -stream` does: indefinite lengths, chunked eContent."""
    sd = cms.ContentInfo.load(der)["content"]
    eci = sd["encap_content_info"]
    content = bytes(eci["content"])
    chunks = [_tlv(0x04, content[i : i + chunk]) for i in range(0, len(content), chunk)]
    ber_eci = _indef(0x30, eci["content_type"].dump(), _indef(0xA0, _indef(0x24, *chunks)))
    fields = [sd["version"].dump(), sd["digest_algorithms"].dump(), ber_eci]
    fields += [sd["certificates"].dump()] if sd["certificates"].native is not None else []
    fields += [sd["signer_infos"].dump()]
    oid = cms.ContentInfo.load(der)["content_type"].dump()
    return _indef(0x30, oid, _indef(0xA0, _indef(0x30, *fields)))


def pem(der: bytes, label: str = "PKCS7") -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n".encode() + lines + f"\n-----END {label}-----\n".encode()


def b64_crlf(der: bytes) -> bytes:
    return base64.encodebytes(der).replace(b"\n", b"\r\n")


# --- real files --------------------------------------------------------------------------------


def test_real_der_and_base64_unwrap_to_the_same_xml() -> None:
    der = p7m.unwrap(ref_bytes(*FPR03))
    b64 = p7m.unwrap(ref_bytes(*FPR03_B64))
    assert der.content == b64.content
    assert der.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert parse(der.content).tag.endswith("}FatturaElettronica")
    assert [layer.encodings for layer in der.layers] == [(Encoding.DER,)]
    assert [layer.encodings for layer in b64.layers] == [(Encoding.BASE64, Encoding.DER)]
    assert der.layers[0].content_type == "data"


def test_legacy_1_1_latin1_payload_is_returned_byte_exact() -> None:
    out = p7m.unwrap(ref_bytes(*LEGACY))
    assert out.content.startswith(b'<?xml version="1.0" encoding="latin1"?>')
    root = parse(out.content)
    assert root.tag == "{http://www.fatturapa.gov.it/sdi/fatturapa/v1.1}FatturaElettronica"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize("name", [FPR03, LEGACY])
def test_payload_matches_openssl(name: tuple[str, str], tmp_path: Path) -> None:
    src = tmp_path / "in.p7m"
    src.write_bytes(ref_bytes(*name))
    out = subprocess.run(
        ["openssl", "cms", "-verify", "-noverify", "-inform", "DER", "-in", str(src)],
        capture_output=True,
        check=True,
    ).stdout
    assert p7m.unwrap(src.read_bytes()).content == out


@pytest.mark.parametrize(
    ("name", "signed_at", "not_after"),
    [
        (
            FPR03,
            dt.datetime(2018, 12, 21, 15, 58, 13, tzinfo=UTC),
            dt.datetime(2021, 10, 25, tzinfo=UTC),
        ),
        (
            FPR03_B64,
            dt.datetime(2018, 12, 21, 15, 58, 13, tzinfo=UTC),
            dt.datetime(2021, 10, 25, tzinfo=UTC),
        ),
        (
            LEGACY,
            dt.datetime(2015, 4, 2, 16, 17, 11, tzinfo=UTC),
            dt.datetime(2017, 10, 1, 23, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_real_files_are_intact_but_untrusted_without_their_ca(
    name: tuple[str, str], signed_at: dt.datetime, not_after: dt.datetime
) -> None:
    # SOURCES.md: the signatures verify (openssl -noverify); the issuing CAs (InfoCert, Aruba)
    # are not in ref/, so the best honest verdict is "intact, chain untrusted".
    data = ref_bytes(*name)
    no_anchor = p7m.verify(data, TrustStore())
    assert (no_anchor.ok, no_anchor.failure, no_anchor.intact) == (
        False,
        Failure.NO_TRUST_ANCHORS,
        True,
    )
    assert no_anchor.signing_time == signed_at
    assert no_anchor.cert_not_after == not_after
    assert no_anchor.digest_algorithm == "sha256"
    ca = TrustStore.from_bytes([ref_bytes("certs", "caentrate.cer")])
    untrusted = p7m.verify(data, ca)
    assert (untrusted.failure, untrusted.intact) == (Failure.UNTRUSTED_CHAIN, True)
    # Judged "now", the same signature would look expired: that is the bug peers have.
    late = p7m.verify(data, ca, at=dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert (late.failure, late.intact) == (Failure.EXPIRED_AT_SIGNING, True)


def test_real_signer_subject_is_readable() -> None:
    verdict = p7m.verify(ref_bytes(*FPR03), TrustStore())
    assert verdict.signer_subject is not None and "CN=CORATO SERGIO" in verdict.signer_subject
    assert (
        verdict.signer_issuer is not None
        and "InfoCert Firma Qualificata 2" in verdict.signer_issuer
    )


# --- generated variants ------------------------------------------------------------------------


VARIANTS = {
    "pem_pkcs7": lambda d: pem(d),
    "pem_cms_crlf": lambda d: pem(d, "CMS").replace(b"\n", b"\r\n"),
    "base64_crlf": b64_crlf,
    "base64_one_line": lambda d: base64.b64encode(d),
    "base64_one_line_no_padding": lambda d: base64.b64encode(d).rstrip(b"="),
    "base64_double": lambda d: base64.encodebytes(base64.encodebytes(d)),
    "base64_leading_trailing_ws": lambda d: b"\r\n  " + base64.encodebytes(d) + b"\r\n\r\n",
    "ber_indefinite_chunked": to_ber,
    "ber_small_chunks": lambda d: to_ber(d, 7),
    "base64_of_ber": lambda d: base64.encodebytes(to_ber(d)),
    "der_trailing_crlf": lambda d: d + b"\r\n",
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_of_a_real_file_unwrap_and_still_verify(variant: str) -> None:
    der = ref_bytes(*FPR03)
    expected = p7m.unwrap(der).content
    data = VARIANTS[variant](der)
    out = p7m.unwrap(data)
    assert out.content == expected
    verdict = p7m.verify(data, TrustStore())
    assert (verdict.failure, verdict.intact) == (Failure.NO_TRUST_ANCHORS, True)


def test_encodings_are_recorded() -> None:
    der = ref_bytes(*FPR03)
    assert p7m.unwrap(to_ber(der)).layers[0].encodings == (Encoding.BER,)
    assert p7m.unwrap(pem(der)).layers[0].encodings == (Encoding.PEM, Encoding.DER)
    double = base64.encodebytes(base64.encodebytes(der))
    assert p7m.unwrap(double).layers[0].encodings == (
        Encoding.BASE64,
        Encoding.BASE64,
        Encoding.DER,
    )
    assert p7m.unwrap(der + b"\r\n").layers[0].trailing_bytes == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_stream_ber_unwraps(pki: dict[str, _pki.Issued], tmp_path: Path) -> None:
    leaf = pki["ec_leaf"]
    (tmp_path / "c.pem").write_bytes(leaf.pem)
    from cryptography.hazmat.primitives.serialization import (
        Encoding as E,
    )
    from cryptography.hazmat.primitives.serialization import (
        NoEncryption,
        PrivateFormat,
    )

    (tmp_path / "k.pem").write_bytes(
        leaf.key.private_bytes(E.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (tmp_path / "x.xml").write_bytes(XML * 300)  # > 1 chunk
    subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-stream",
            "-outform",
            "DER",
            "-in",
            "x.xml",
            "-signer",
            "c.pem",
            "-inkey",
            "k.pem",
            "-md",
            "sha256",
            "-out",
            "o.p7m",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    data = (tmp_path / "o.p7m").read_bytes()
    assert data[:2] == b"\x30\x80"
    out = p7m.unwrap(data)
    assert out.content == XML * 300 and out.layers[0].encodings == (Encoding.BER,)
    verdict = p7m.verify(data, _pki.store(pki["root"]))
    # openssl does not add ESS signing-certificate-v2: intact, but not CAdES-BES.
    assert (verdict.failure, verdict.intact) == (Failure.MISSING_ATTRIBUTE, True)


def test_nested_p7m_inside_p7m(pki: dict[str, _pki.Issued]) -> None:
    inner = ref_bytes(*FPR03)
    signer = _pki.signer_of(pki["leaf"], pki["inter"])
    outer = p7m.sign_cades_bes(inner, signer, signing_time=dt.datetime(2024, 5, 1, tzinfo=UTC))
    for data in (outer, base64.encodebytes(outer)):
        out = p7m.unwrap(data)
        assert len(out.layers) == 2
        assert out.content == p7m.unwrap(inner).content
    verdicts = p7m.verify_all(outer, _pki.store(pki["root"]))
    assert [v.ok for v in verdicts] == [True, False]
    assert verdicts[1].failure is Failure.UNTRUSTED_CHAIN and verdicts[1].intact
    assert p7m.verify(outer, _pki.store(pki["root"])) == verdicts[1]
    # the inner p7m as base64 text inside the outer one (the "double" peers report)
    outer_b64 = p7m.sign_cades_bes(base64.encodebytes(inner), signer)
    assert len(p7m.unwrap(outer_b64).layers) == 2


def test_payload_that_merely_looks_like_base64_is_content(pki: dict[str, _pki.Issued]) -> None:
    signer = _pki.signer_of(pki["leaf"], pki["inter"])
    for payload in (b"QUJDRA==", b"abcd", b"-----BEGIN PKCS7-----\nnope\n-----END PKCS7-----\n"):
        assert p7m.unwrap(p7m.sign_cades_bes(payload, signer)).content == payload


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80",
        b"<?xml version='1.0'?><a/>",
        b"hello world!",
        b"\x00" * 64,
        b"-----BEGIN PKCS7-----\nMIIB",
        b"MIIkBgYJKoZIhvcNAQcCoIIj9zCCI",
        b"\x30\x03\x02\x01\x01",
        # data ContentInfo (not signedData)
        bytes.fromhex("300f06092a864886f70d010701a0020400"),
    ],
)
def test_garbage_raises_malformed(data: bytes) -> None:
    with pytest.raises(MalformedP7m):
        p7m.unwrap(data)
    with pytest.raises(MalformedP7m):
        p7m.verify(data, TrustStore())


def test_deep_nesting_is_bounded() -> None:
    data = ref_bytes(*FPR03)
    for _ in range(p7m.MAX_STEPS + 1):
        data = base64.b64encode(data)
    with pytest.raises(MalformedP7m, match="nested"):
        p7m.unwrap(data)


def test_detached_signature_is_not_a_p7m(pki: dict[str, _pki.Issued]) -> None:
    ci = cms.ContentInfo.load(p7m.sign_cades_bes(XML, _pki.signer_of(pki["ec_leaf"])))
    ci["content"]["encap_content_info"] = {"content_type": "data"}
    with pytest.raises(MalformedP7m, match="detached"):
        p7m.unwrap(ci.dump(force=True))


@pytest.mark.parametrize("name", [FPR03, FPR03_B64, LEGACY])
def test_truncation_at_many_offsets_fails_cleanly(name: tuple[str, str]) -> None:
    # Trailing whitespace and base64 "=" padding are not information: cut before them.
    data = ref_bytes(*name).rstrip().rstrip(b"=")
    step = max(1, len(data) // 150)
    for cut in [*range(0, len(data) - 1, step), len(data) - 1]:
        with pytest.raises(MalformedP7m):
            p7m.verify(data[:cut], TrustStore())


def test_truncated_ber_fails_cleanly() -> None:
    data = to_ber(ref_bytes(*FPR03))
    for cut in range(0, len(data) - 1, max(1, len(data) // 100)):
        with pytest.raises(MalformedP7m):
            p7m.unwrap(data[:cut])


def _flip_outcome(data: bytes, trust: TrustStore) -> p7m.SignatureVerdict | None:
    try:
        return p7m.verify(data, trust)
    except MalformedP7m:
        return None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_random_byte_flips_never_crash(
    signed: bytes, pki: dict[str, _pki.Issued], data: st.DataObject
) -> None:
    trust = _pki.store(pki["root"])
    assert p7m.verify(signed, trust).ok
    pos = data.draw(st.integers(0, len(signed) - 1))
    xor = data.draw(st.integers(1, 255))
    mutated = signed[:pos] + bytes([signed[pos] ^ xor]) + signed[pos + 1 :]
    verdict = _flip_outcome(mutated, trust)
    start = signed.index(XML)
    if start <= pos < start + len(XML) and verdict is not None:
        assert verdict.failure is Failure.TAMPERED  # the payload itself changed


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    for candidate in (data, b"\x30\x80" + data, base64.b64encode(data)):
        with contextlib.suppress(MalformedP7m):
            p7m.verify(candidate, TrustStore())


# --- tampering ---------------------------------------------------------------------------------


def test_tampered_real_content_is_tampered() -> None:
    data = bytearray(ref_bytes(*FPR03))
    pos = bytes(data).index(b"<Numero>") + len(b"<Numero>")
    data[pos] = ord("9") if data[pos] != ord("9") else ord("8")
    out = p7m.verify(bytes(data), TrustStore())
    assert (out.ok, out.failure, out.intact) == (False, Failure.TAMPERED, False)
    assert "digest" in out.reason


def test_tampered_signing_time_is_tampered(signed: bytes, pki: dict[str, _pki.Issued]) -> None:
    stamp = b"240501000000Z"
    assert signed.count(stamp) == 1
    forged = signed.replace(stamp, b"230501000000Z")
    out = p7m.verify(forged, _pki.store(pki["root"]))
    assert (out.failure, out.intact) == (Failure.TAMPERED, False)


def test_tampered_signature_value_is_tampered(signed: bytes, pki: dict[str, _pki.Issued]) -> None:
    ci = cms.ContentInfo.load(signed)
    si = ci["content"]["signer_infos"][0]
    sig = bytearray(si["signature"].native)
    sig[10] ^= 1
    si["signature"] = bytes(sig)
    out = p7m.verify(ci.dump(force=True), _pki.store(pki["root"]))
    assert (out.failure, out.intact) == (Failure.TAMPERED, False)


# --- signing round trip ------------------------------------------------------------------------


def test_sign_round_trip_with_intermediate(signed: bytes, pki: dict[str, _pki.Issued]) -> None:
    out = p7m.unwrap(signed)
    assert out.content == XML
    verdict = p7m.verify(signed, _pki.store(pki["root"]))
    assert verdict.ok and verdict.failure is None and verdict.intact
    assert len(verdict.chain) == 3
    assert verdict.signing_time == dt.datetime(2024, 5, 1, tzinfo=UTC)
    assert verdict.reason == "valid; ESS signing-certificate-v2"
    si = out.signed_data["signer_infos"][0]
    assert [a["type"].native for a in si["signed_attrs"]] == [
        "content_type",
        "signing_time",
        "message_digest",
        "signing_certificate_v2",
    ]
    ess = si["signed_attrs"][3]["values"][0]["certs"][0]
    assert (
        ess["cert_hash"].native
        == hashlib.sha256(pki["leaf"].cert.public_bytes(_encoding_der())).digest()
    )
    assert p7m.verify(signed, _pki.store(pki["other_root"])).failure is Failure.UNTRUSTED_CHAIN
    assert p7m.verify(signed, TrustStore()).failure is Failure.NO_TRUST_ANCHORS


def _encoding_der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding as E

    return E.DER


def test_signed_output_is_der(signed: bytes) -> None:
    assert cms.ContentInfo.load(signed).dump(force=True) == signed


def test_ecdsa_signer_round_trip(pki: dict[str, _pki.Issued]) -> None:
    data = p7m.sign_cades_bes(XML, _pki.signer_of(pki["ec_leaf"]))  # signing time: now
    verdict = p7m.verify(data, _pki.store(pki["root"]))
    assert verdict.ok, verdict.reason
    assert verdict.signature_algorithm == "sha256_ecdsa"


def test_cert_expired_now_is_valid_at_signing_time(pki: dict[str, _pki.Issued]) -> None:
    leaf = _pki.make_signer(
        pki["root"],
        key=_pki.ec_key(),
        not_before=dt.datetime(2018, 10, 25, tzinfo=UTC),
        not_after=dt.datetime(2021, 10, 25, tzinfo=UTC),
    )
    data = p7m.sign_cades_bes(
        XML, _pki.signer_of(leaf), signing_time=dt.datetime(2018, 12, 21, tzinfo=UTC)
    )
    trust = _pki.store(pki["root"])
    assert p7m.verify(data, trust).ok
    now = p7m.verify(data, trust, at=dt.datetime.now(UTC))
    assert (now.failure, now.intact) == (Failure.EXPIRED_AT_SIGNING, True)


def test_cert_not_yet_valid_at_signing_time_fails(pki: dict[str, _pki.Issued]) -> None:
    leaf = _pki.make_signer(
        pki["root"], key=_pki.ec_key(), not_before=dt.datetime(2030, 1, 1, tzinfo=UTC)
    )
    data = p7m.sign_cades_bes(
        XML, _pki.signer_of(leaf), signing_time=dt.datetime(2024, 1, 1, tzinfo=UTC)
    )
    out = p7m.verify(data, _pki.store(pki["root"]))
    assert (out.failure, out.intact) == (Failure.NOT_YET_VALID_AT_SIGNING, True)


def test_intermediate_expired_at_signing_time_fails(pki: dict[str, _pki.Issued]) -> None:
    inter = _pki.make_ca(
        "Old CA", issuer=pki["root"], not_after=dt.datetime(2020, 1, 1, tzinfo=UTC)
    )
    leaf = _pki.make_signer(inter, key=_pki.ec_key())
    data = p7m.sign_cades_bes(
        XML, _pki.signer_of(leaf, inter), signing_time=dt.datetime(2022, 1, 1, tzinfo=UTC)
    )
    out = p7m.verify(data, _pki.store(pki["root"]))
    assert (out.failure, out.intact) == (Failure.EXPIRED_AT_SIGNING, True)


def test_key_usage_without_signature_bits_fails(pki: dict[str, _pki.Issued]) -> None:
    leaf = _pki.make_signer(pki["root"], key=_pki.ec_key(), cert_sign_only=True)
    out = p7m.verify(p7m.sign_cades_bes(XML, _pki.signer_of(leaf)), _pki.store(pki["root"]))
    assert (out.failure, out.intact) == (Failure.KEY_USAGE, True)


def test_pkcs12_signer(pki: dict[str, _pki.Issued]) -> None:
    leaf, inter = pki["leaf"], pki["inter"]
    blob = pkcs12.serialize_key_and_certificates(
        b"test", leaf.key, leaf.cert, [inter.cert], BestAvailableEncryption(b"pw")
    )  # type: ignore[arg-type]
    signer = Pkcs12Signer.from_bytes(blob, b"pw")
    assert isinstance(signer, p7m.Signer)
    assert signer.chain == (inter.cert,)
    assert p7m.verify(p7m.sign_cades_bes(XML, signer), _pki.store(pki["root"])).ok
    with pytest.raises(ValueError, match=r"(?i)password|decrypt|invalid"):
        Pkcs12Signer.from_bytes(blob, b"wrong")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_accepts_our_p7m(
    signed: bytes, pki: dict[str, _pki.Issued], tmp_path: Path
) -> None:
    (tmp_path / "o.p7m").write_bytes(signed)
    (tmp_path / "root.pem").write_bytes(pki["root"].pem)
    run = subprocess.run(
        ["openssl", "cms", "-verify", "-noverify", "-inform", "DER", "-in", "o.p7m"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == XML
    # full chain check at signing time, too (the intermediate travels inside the p7m)
    run = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "o.p7m",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-attime",
            str(int(dt.datetime(2024, 5, 1, tzinfo=UTC).timestamp())),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_rsa_pss_signature_verifies(pki: dict[str, _pki.Issued]) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    leaf = pki["leaf"]
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)

    class PssSigner:
        certificate = leaf.cert
        chain = (pki["inter"].cert,)

        def sign(self, data: bytes) -> bytes:
            return leaf.key.sign(data, pss, hashes.SHA256())  # type: ignore[call-arg,arg-type]

    ci = cms.ContentInfo.load(p7m.sign_cades_bes(XML, PssSigner()))
    si = ci["content"]["signer_infos"][0]
    si["signature_algorithm"] = {
        "algorithm": "rsassa_pss",
        "parameters": {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        },
    }
    verdict = p7m.verify(ci.dump(force=True), _pki.store(pki["root"]))
    assert verdict.ok, verdict.reason
    assert verdict.signature_algorithm == "rsassa_pss"
    # the same bytes declared as PKCS#1 v1.5 do not verify
    plain = p7m.verify(p7m.sign_cades_bes(XML, PssSigner()), _pki.store(pki["root"]))
    assert plain.failure is Failure.TAMPERED


def test_ess_attribute_is_recognised_without_importing_tsp_first() -> None:
    # Trap: asn1crypto only maps OID 1.2.840.113549.1.9.16.2.47 to signing_certificate_v2 once
    # asn1crypto.tsp is imported; without it every real p7m looks "not CAdES-BES".
    import sys

    code = (
        "from handlers.formats import cms_verify\n"
        "from asn1crypto import cms\n"
        "assert cms.CMSAttributeType._map['1.2.840.113549.1.9.16.2.47'] == "
        "'signing_certificate_v2'\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
