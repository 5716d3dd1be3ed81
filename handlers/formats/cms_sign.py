"""Write a CAdES-BES ``.p7m``: DER CMS SignedData with encapsulated content, SHA-256.

Signed attributes are the CAdES-BES set (ETSI EN 319 122-1 §5.2.1–5.2.2): content-type,
message-digest, signing-time and ESS signing-certificate-v2 (RFC 5035) — the last one is what
most Python signers found in the wild omit (peers-sdi.md (a)). The private key stays behind the
`Signer` protocol so an HSM or remote signing service can be plugged in.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding as CertEncoding

from handlers.formats.sig_common import Signer, signer_scheme

_SIG_ALGO = {"rsa": "sha256_rsa", "ecdsa": "sha256_ecdsa"}


def _time(when: dt.datetime) -> cms.Time:
    # RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    when = when.astimezone(dt.UTC).replace(microsecond=0)
    if 1950 <= when.year <= 2049:
        return cms.Time(name="utc_time", value=when)
    return cms.Time(name="general_time", value=when)


def signed_attributes(
    content: bytes, cert: asn1_x509.Certificate, signing_time: dt.datetime
) -> cms.CMSAttributes:
    """The CAdES-BES signed attributes for ``content`` signed by ``cert`` (DER, sorted)."""
    ess_id = tsp.ESSCertIDv2(
        {
            # hashAlgorithm DEFAULT sha256 is omitted by the DER encoder, as X.690 requires.
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(cert.dump()).digest(),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
                "serial_number": cert.serial_number,
            },
        }
    )
    return cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "signing_time", "values": [_time(signing_time)]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [ess_id]}]},
        ]
    )


def sign_cades_bes(
    content: bytes,
    signer: Signer,
    *,
    signing_time: dt.datetime | None = None,
    detached: bool = False,
) -> bytes:
    """Return a DER CAdES-BES p7m enveloping ``content`` (the exact bytes, not re-encoded).

    ``signing_time`` defaults to now; it is the claimed time the verifier validates at.
    ``detached`` leaves the content out (S/MIME, RFC 5751 §3.4.3: the signed part travels
    beside the signature).
    """
    when = signing_time or dt.datetime.now(dt.UTC)
    cert = asn1_x509.Certificate.load(signer.certificate.public_bytes(CertEncoding.DER))
    chain = [
        asn1_x509.Certificate.load(c.public_bytes(CertEncoding.DER)) for c in signer.chain
    ]
    attrs = signed_attributes(content, cert, when)
    # RFC 5652 §5.4: sign the DER of the attributes as an EXPLICIT SET OF (tag 0x31).
    signature = signer.sign(attrs.dump(force=True))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": cert.issuer, "serial_number": cert.serial_number},
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": _SIG_ALGO[signer_scheme(signer.certificate)]},
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": (
                {"content_type": "data"}
                if detached
                else {"content_type": "data", "content": content}
            ),
            "certificates": [cms.CertificateChoices(name="certificate", value=c)
                             for c in (cert, *chain)],
            "signer_infos": [signer_info],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    # No force: fresh nodes are encoded anyway, and the loaded certificates keep their exact
    # DER instead of being re-encoded node by node (which cost ~0.25 s per signature).
    der: bytes = info.dump()
    return der


