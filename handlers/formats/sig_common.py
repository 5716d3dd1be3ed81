"""Shared vocabulary of the signature codecs: the verdict type, the `Signer` protocol, raw crypto.

CAdES (p7m), XAdES and S/MIME verifiers all answer with one `SignatureVerdict`, so callers can
apply one policy (warn/reject/quarantine) whatever the format. The only cryptography here is the
raw "does this public key verify this signature over these bytes" primitive and a PKCS#12-backed
signer; format-specific structure lives in the format modules.
"""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

#: Hash algorithms by the names asn1crypto and the XML-DSig URIs map to.
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class Failure(enum.Enum):
    """Which check failed. The first group means the bytes were altered (or never matched);
    the second means the signature is intact but cannot be trusted."""

    UNSIGNED = "unsigned"  # no signature where one was expected
    MALFORMED = "malformed"  # structure unreadable (bad ASN.1 / XML inside the signature)
    UNSUPPORTED = "unsupported"  # algorithm or transform we do not implement / do not accept
    TAMPERED = "tampered"  # digest or signature value mismatch
    SIGNER_CERT = "signer_cert"  # signer certificate missing or not bound to the signature
    MISSING_ATTRIBUTE = "missing_attribute"  # a mandatory signed attribute/property is absent
    NO_SIGNING_TIME = "no_signing_time"  # no time to validate at (SdI 00103)
    EXPIRED_AT_SIGNING = "expired_at_signing"  # signer cert expired before the signing time
    NOT_YET_VALID_AT_SIGNING = "not_yet_valid_at_signing"  # cert issued after the signing time
    KEY_USAGE = "key_usage"  # neither nonRepudiation nor digitalSignature
    NO_TRUST_ANCHORS = "no_trust_anchors"  # the TrustStore is empty: nothing can be trusted
    UNTRUSTED_CHAIN = "untrusted_chain"  # no valid path to a configured anchor at signing time

    @property
    def signature_broken(self) -> bool:
        """True when the failure means the signed bytes do not match the signature."""
        return self in {Failure.TAMPERED, Failure.MALFORMED}


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """Outcome of verifying one signature (CAdES signer, XAdES ds:Signature, S/MIME signer).

    ``intact`` is True once digest(s) and signature value have verified: an ``UNTRUSTED_CHAIN``
    or ``EXPIRED_AT_SIGNING`` verdict with ``intact=True`` means "authentic bytes, untrusted
    signer", which is a very different incident from ``TAMPERED``.
    """

    ok: bool
    failure: Failure | None
    reason: str
    intact: bool = False
    signer_subject: str | None = None
    signer_issuer: str | None = None
    signer_serial: int | None = None
    signing_time: dt.datetime | None = None
    validated_at: dt.datetime | None = None
    cert_not_before: dt.datetime | None = None
    cert_not_after: dt.datetime | None = None
    chain: tuple[str, ...] = ()
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None


def fail(failure: Failure, reason: str, **info: object) -> SignatureVerdict:
    """Build a failed verdict; ``info`` carries whatever signer details are already known."""
    return SignatureVerdict(ok=False, failure=failure, reason=reason, **info)  # type: ignore[arg-type]


#: Short names for the DN attributes qualified certificates use (ETSI EN 319 412-1).
_DN_NAMES = {
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.DN_QUALIFIER: "dnQualifier",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


def dn(name: x509.Name) -> str:
    """RFC 4514 string of ``name`` with readable labels for qualified-certificate attributes."""
    return name.rfc4514_string(_DN_NAMES)


def cert_info(cert: x509.Certificate) -> dict[str, object]:
    """The signer-describing fields of `SignatureVerdict` for ``cert``."""
    return {
        "signer_subject": dn(cert.subject),
        "signer_issuer": dn(cert.issuer),
        "signer_serial": cert.serial_number,
        "cert_not_before": cert.not_valid_before_utc,
        "cert_not_after": cert.not_valid_after_utc,
    }


class SignatureAlgorithmError(ValueError):
    """The signature algorithm/key combination is not one we verify."""


def verify_raw(
    public_key: object,
    scheme: str,
    hash_name: str,
    data: bytes,
    signature: bytes,
    *,
    pss_salt_length: int | None = None,
) -> bool:
    """Return True when ``signature`` over ``data`` verifies under ``public_key``.

    ``scheme`` is ``"rsa"`` (PKCS#1 v1.5), ``"rsassa_pss"``, ``"ecdsa"`` (DER signature) or
    ``"ed25519"``; raises `SignatureAlgorithmError` when the key type does not fit the scheme.
    """
    hash_cls = HASHES.get(hash_name)
    if hash_cls is None and scheme != "ed25519":
        raise SignatureAlgorithmError(f"unsupported hash {hash_name!r}")
    try:
        if scheme == "rsa" and isinstance(public_key, rsa.RSAPublicKey):
            assert hash_cls is not None
            public_key.verify(signature, data, padding.PKCS1v15(), hash_cls())
        elif scheme == "rsassa_pss" and isinstance(public_key, rsa.RSAPublicKey):
            assert hash_cls is not None
            salt = padding.PSS.AUTO if pss_salt_length is None else pss_salt_length
            mgf = padding.MGF1(hash_cls())
            public_key.verify(signature, data, padding.PSS(mgf, salt), hash_cls())
        elif scheme == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            assert hash_cls is not None
            public_key.verify(signature, data, ec.ECDSA(hash_cls()))
        elif scheme == "ed25519" and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        else:
            raise SignatureAlgorithmError(
                f"signature scheme {scheme!r} does not fit key {type(public_key).__name__}"
            )
    except InvalidSignature:
        return False
    except UnsupportedAlgorithm as exc:
        raise SignatureAlgorithmError(str(exc)) from exc
    except ValueError as exc:  # e.g. a malformed DER ECDSA signature: treat as not matching
        if isinstance(exc, SignatureAlgorithmError):
            raise
        return False
    return True


class BadCertificate(ValueError):
    """A certificate could not be parsed."""


def load_der_cert(der: bytes) -> x509.Certificate:
    """Parse a DER certificate from untrusted input; raise `BadCertificate` on any failure.

    Real Italian qualified certificates of the 2010s sometimes carry non-positive serial
    numbers, which cryptography still loads but warns about: they must load silently here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(der)
    except Exception as exc:  # InvalidVersion and friends are not ValueErrors
        raise BadCertificate(f"unreadable certificate: {exc}") from exc


def public_key(cert: x509.Certificate) -> object:
    """The certificate's public key; `SignatureAlgorithmError` for key types we cannot load."""
    try:
        return cert.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:  # cryptography parses the key lazily
        raise SignatureAlgorithmError(f"unsupported/invalid public key: {exc}") from exc


def key_usage_ok(cert: x509.Certificate) -> bool:
    """True when the certificate may sign documents (RFC 5280 §4.2.1.3).

    A qualified signing certificate carries nonRepudiation (contentCommitment) and/or
    digitalSignature; a certificate without a keyUsage extension is unrestricted.
    """
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(ku.content_commitment or ku.digital_signature)


@runtime_checkable
class Signer(Protocol):
    """Something that signs with a private key we may never see (file, HSM, remote service).

    Contract: ``sign(data)`` returns the signature over SHA-256(``data``): RSA PKCS#1 v1.5 for
    RSA keys, a DER-encoded ECDSA signature for EC keys. ``certificate`` is the signer's own
    certificate; ``chain`` are intermediates to embed (not the root).
    """

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]: ...

    def sign(self, data: bytes) -> bytes: ...


def signer_scheme(cert: x509.Certificate) -> str:
    """The signature scheme a `Signer` uses for ``cert``'s key: ``"rsa"`` or ``"ecdsa"``."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    raise SignatureAlgorithmError(f"unsupported signer key type {type(key).__name__}")


@dataclass(frozen=True, slots=True)
class Pkcs12Signer:
    """A `Signer` backed by a private key held in memory (loaded from a PKCS#12 blob)."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_bytes(cls, p12: bytes, password: bytes | None) -> Pkcs12Signer:
        """Load key, certificate and intermediates from a PKCS#12 (.p12/.pfx) blob."""
        key, cert, extra = pkcs12.load_key_and_certificates(p12, password)
        if cert is None or key is None:
            raise ValueError("PKCS#12 holds no key/certificate pair")
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"unsupported key type in PKCS#12: {type(key).__name__}")
        return cls(key=key, certificate=cert, chain=tuple(extra))

    def sign(self, data: bytes) -> bytes:
        """Sign SHA-256(``data``) as the `Signer` contract says."""
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
