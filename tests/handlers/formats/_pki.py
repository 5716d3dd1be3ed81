"""Throw-away test PKI: root CA → optional intermediate → signer, made with `cryptography`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
UTC = dt.UTC


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pecora Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(Encoding.PEM)


def make_ca(
    cn: str = "Pecora Test Root",
    *,
    key: PrivateKey | None = None,
    issuer: Issued | None = None,
    not_before: dt.datetime = dt.datetime(2015, 1, 1, tzinfo=UTC),
    not_after: dt.datetime = dt.datetime(2045, 1, 1, tzinfo=UTC),
) -> Issued:
    """A CA certificate (self-signed root, or an intermediate when ``issuer`` is given)."""
    key = key or ec_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ski, critical=False)
    )
    signing_key = issuer.key if issuer else key
    aki_key = issuer.key.public_key() if issuer else key.public_key()
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key), critical=False
    )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def make_signer(
    ca: Issued,
    cn: str = "MARIO ROSSI",
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime = dt.datetime(2018, 1, 1, tzinfo=UTC),
    not_after: dt.datetime = dt.datetime(2040, 1, 1, tzinfo=UTC),
    non_repudiation: bool = True,
    cert_sign_only: bool = False,
) -> Issued:
    """An end-entity signing certificate issued by ``ca`` (qualified-like key usage)."""
    key = key or rsa_key()
    usage = x509.KeyUsage(
        digital_signature=not cert_sign_only,
        content_commitment=non_repudiation and not cert_sign_only,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign_only,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


def signer_of(issued: Issued, *chain: Issued) -> Pkcs12Signer:
    return Pkcs12Signer(
        key=issued.key,
        certificate=issued.cert,  # type: ignore[arg-type]
        chain=tuple(c.cert for c in chain),
    )


def store(*anchors: Issued) -> TrustStore:
    return TrustStore.from_bytes([a.pem for a in anchors])
