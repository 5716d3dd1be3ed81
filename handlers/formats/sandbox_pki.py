"""Make a throw-away PKI for the sandbox: one self-signed CA and one signing certificate.

The sandbox plays SdI and the PEC providers (issue 4), which sign everything they send: S/MIME
on every PEC receipt/envelope, XAdES on SdI notifications (domain.md §4.2, §5.3). Real keys are
out of reach and must never be imitated, so each sandbox actor gets its own CA, which the daemon
under test is configured to trust instead of AgID / CA Agenzia delle Entrate. Every name carries
"SANDBOX" so a sandbox certificate can never be mistaken for a real one. Pure: key generation is
CPU only; nothing is written anywhere.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from handlers.formats.sig_common import Pkcs12Signer

__all__ = ["SANDBOX_ORGANIZATION", "make_sandbox_pki"]

#: Organisation of every sandbox certificate: says loudly that it proves nothing.
SANDBOX_ORGANIZATION = "pecora SANDBOX - not a real certificate"

_NOT_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SANDBOX_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,  # nonRepudiation, as on qualified/PEC signing certificates
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_sandbox_pki(
    name: str,
    *,
    email: str | None = None,
    not_before: dt.datetime = _NOT_BEFORE,
    not_after: dt.datetime = _NOT_AFTER,
    key_size: int = 2048,
) -> tuple[bytes, Pkcs12Signer]:
    """Return ``(ca_cert_pem, signer)`` for a sandbox actor called ``name``.

    The CA is ``CN=<name> SANDBOX CA``; the signer certificate is ``CN=<name> SANDBOX`` with key
    usage digitalSignature + nonRepudiation, and ``email`` as rfc822Name (PEC provider
    certificates name their ``posta-certificata@`` address there). Validity defaults to
    2000–2099 so the simulator's fast clock never leaves it; RSA keys, like SdI's and the PEC
    providers' (domain.md §5.3).
    """
    if not name.strip():
        raise ValueError("sandbox PKI name must not be empty")
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    ca_name = _name(f"{name} SANDBOX CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} SANDBOX"))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if email is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        )
    leaf_cert = builder.sign(ca_key, hashes.SHA256())
    return ca_cert.public_bytes(Encoding.PEM), Pkcs12Signer(key=leaf_key, certificate=leaf_cert)
