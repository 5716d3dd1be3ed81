"""TrustStore: anchors from PEM/DER, path building, validity at a given instant."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from handlers.formats.sig_common import BadCertificate, Failure
from handlers.formats.trust import TrustStore, load_certificates
from tests.handlers.formats import _pki
from tests.support.ref import ref_bytes

UTC = dt.UTC
WHEN = dt.datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> dict[str, _pki.Issued]:
    root = _pki.make_ca()
    inter = _pki.make_ca("Intermediate", issuer=root)
    return {"root": root, "inter": inter, "leaf": _pki.make_signer(inter, key=_pki.ec_key()),
            "other": _pki.make_ca("Other Root")}


def test_loads_pem_bundle_and_der(pki: dict[str, _pki.Issued]) -> None:
    bundle = pki["root"].pem + pki["other"].pem
    assert len(load_certificates(bundle)) == 2
    der = pki["root"].cert.public_bytes(Encoding.DER)
    assert load_certificates(der) == [pki["root"].cert]
    store = TrustStore.from_bytes([bundle, der])
    assert len(store.anchors) == 3 and not store.empty
    with pytest.raises(BadCertificate):
        load_certificates(b"not a certificate")


def test_real_agenzia_entrate_certificates_load() -> None:
    ca = load_certificates(ref_bytes("certs", "caentrate.cer"))
    sdi = load_certificates(ref_bytes("certs", "Sistema_Interscambio_Fattura_PA.cer"))
    store = TrustStore(anchors=tuple(ca))
    assert store.validate(sdi[0], [], dt.datetime(2025, 1, 1, tzinfo=UTC)).ok
    late = store.validate(sdi[0], [], dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert late.failure is Failure.EXPIRED_AT_SIGNING


def test_chain_through_shipped_intermediate(pki: dict[str, _pki.Issued]) -> None:
    store = _pki.store(pki["root"])
    result = store.validate(pki["leaf"].cert, [pki["inter"].cert], WHEN)
    assert result.ok and len(result.chain) == 3
    assert result.chain[0].startswith("CN=MARIO ROSSI")


def test_chain_through_configured_intermediate(pki: dict[str, _pki.Issued]) -> None:
    store = TrustStore.from_bytes([pki["root"].pem], [pki["inter"].pem])
    assert store.validate(pki["leaf"].cert, [], WHEN).ok


def test_missing_intermediate_or_wrong_anchor_is_untrusted(pki: dict[str, _pki.Issued]) -> None:
    assert _pki.store(pki["root"]).validate(pki["leaf"].cert, [], WHEN).failure is (
        Failure.UNTRUSTED_CHAIN)
    wrong = _pki.store(pki["other"]).validate(pki["leaf"].cert, [pki["inter"].cert], WHEN)
    assert wrong.failure is Failure.UNTRUSTED_CHAIN


def test_empty_store_says_so(pki: dict[str, _pki.Issued]) -> None:
    result = TrustStore().validate(pki["leaf"].cert, [pki["inter"].cert], WHEN)
    assert (result.ok, result.failure) == (False, Failure.NO_TRUST_ANCHORS)


def test_intermediate_is_not_an_anchor(pki: dict[str, _pki.Issued]) -> None:
    # Shipping the root itself inside the signature must not make it trusted.
    store = _pki.store(pki["other"])
    result = store.validate(pki["leaf"].cert, [pki["inter"].cert, pki["root"].cert], WHEN)
    assert result.failure is Failure.UNTRUSTED_CHAIN


def test_check_signer_at_signing_time(pki: dict[str, _pki.Issued]) -> None:
    leaf = _pki.make_signer(pki["root"], key=_pki.ec_key(),
                            not_before=dt.datetime(2018, 10, 25, tzinfo=UTC),
                            not_after=dt.datetime(2021, 10, 25, tzinfo=UTC))
    store = _pki.store(pki["root"])
    assert store.check_signer(leaf.cert, [], dt.datetime(2018, 12, 21, tzinfo=UTC)).ok
    assert store.check_signer(leaf.cert, [], dt.datetime(2018, 12, 21)).ok  # naive = UTC
    assert store.check_signer(leaf.cert, [], dt.datetime(2022, 1, 1, tzinfo=UTC)).failure is (
        Failure.EXPIRED_AT_SIGNING)
    assert store.check_signer(leaf.cert, [], dt.datetime(2017, 1, 1, tzinfo=UTC)).failure is (
        Failure.NOT_YET_VALID_AT_SIGNING)
    ca_only = _pki.make_signer(pki["root"], key=_pki.ec_key(), cert_sign_only=True)
    assert store.check_signer(ca_only.cert, [], WHEN).failure is Failure.KEY_USAGE


def test_a_store_survives_pickling(pki: dict[str, _pki.Issued]) -> None:
    """Worker processes get the trust anchors pickled (daemon/deciding.py)."""
    import pickle

    store = TrustStore.from_bytes([pki["root"].pem], [pki["inter"].pem])
    copy = pickle.loads(pickle.dumps(store))  # noqa: S301  # our own bytes
    assert copy == store
    assert copy.validate(pki["leaf"].cert, [], WHEN).ok  # its verification store is rebuilt
