"""Write an enveloped XAdES-BES signature into a FatturaPA document (the .xml alternative to p7m).

Profile (domain.md §5.1; ETSI TS 101 903 v1.3.2 / EN 319 132-1 baseline B): ``ds:Signature`` as the
last child of the document element; Reference ``URI=""`` with the enveloped-signature transform
(C14N 1.0, SHA-256) and a Reference to ``xades:SignedProperties`` carrying SigningTime and
SigningCertificate (CertDigest SHA-256 + IssuerSerial); SignedInfo in exclusive C14N; the signer
certificate and chain in ``ds:KeyInfo``. `xades.verify` checks exactly this back.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import secrets

from cryptography.hazmat.primitives.asymmetric import utils
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from handlers.formats.sig_common import Signer, signer_scheme
from handlers.formats.xades import (
    C14N_10,
    DS,
    ENVELOPED,
    EXC_C14N,
    SIGNED_PROPERTIES_TYPE,
    XADES_NAMESPACES,
    canonicalize,
)
from handlers.formats.xmlsafe import parse

XADES = XADES_NAMESPACES[0]
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_SIG_URI = {
    "rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "ecdsa": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
}


class AlreadySigned(ValueError):
    """The document already carries an enveloped ds:Signature."""


def _el(parent: etree._Element, local: str, ns: str = DS, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{local}", attrs)


def _digest_ref(parent: etree._Element, value: bytes = b"") -> etree._Element:
    _el(parent, "DigestMethod", Algorithm=_SHA256)
    node = _el(parent, "DigestValue")
    node.text = base64.b64encode(value).decode()
    return node


def _raw_ecdsa(der: bytes, key_bits: int) -> bytes:
    # XML-DSig wants r||s, each left-padded to the curve size (RFC 4050 §3.3).
    r, s = utils.decode_dss_signature(der)
    size = (key_bits + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_xades_bes(
    xml: bytes, signer: Signer, *, signing_time: dt.datetime | None = None
) -> bytes:
    """Return ``xml`` (UTF-8 re-serialised) with an enveloped XAdES-BES signature appended."""
    root = parse(xml)
    if root.find(f"{{{DS}}}Signature") is not None:
        raise AlreadySigned("document already has an enveloped ds:Signature")
    cert = signer.certificate
    scheme = signer_scheme(cert)
    when = (signing_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    sid = f"xades-{secrets.token_hex(8)}"  # random: must not collide with Ids in the document

    sig = etree.SubElement(root, f"{{{DS}}}Signature", {"Id": sid}, nsmap={"ds": DS})
    signed_info = _el(sig, "SignedInfo")
    _el(signed_info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _el(signed_info, "SignatureMethod", Algorithm=_SIG_URI[scheme])
    doc_ref = _el(signed_info, "Reference", Id=f"{sid}-ref0", URI="")
    _el(_el(doc_ref, "Transforms"), "Transform", Algorithm=ENVELOPED)
    doc_digest = _digest_ref(doc_ref)
    props_ref = _el(signed_info, "Reference", Type=SIGNED_PROPERTIES_TYPE,
                    URI=f"#{sid}-signedprops")
    props_digest = _digest_ref(props_ref)
    value = _el(sig, "SignatureValue", Id=f"{sid}-value")
    x509_data = _el(_el(sig, "KeyInfo"), "X509Data")
    for c in (cert, *signer.chain):
        _el(x509_data, "X509Certificate").text = base64.b64encode(
            c.public_bytes(Encoding.DER)).decode()

    qualifying = etree.SubElement(_el(sig, "Object"), f"{{{XADES}}}QualifyingProperties",
                                  {"Target": f"#{sid}"}, nsmap={"xades": XADES})
    props = _el(qualifying, "SignedProperties", XADES, Id=f"{sid}-signedprops")
    ssp = _el(props, "SignedSignatureProperties", XADES)
    _el(ssp, "SigningTime", XADES).text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    cert_id = _el(_el(ssp, "SigningCertificate", XADES), "Cert", XADES)
    _digest_ref(_el(cert_id, "CertDigest", XADES),
                hashlib.sha256(cert.public_bytes(Encoding.DER)).digest())
    issuer_serial = _el(cert_id, "IssuerSerial", XADES)
    _el(issuer_serial, "X509IssuerName").text = cert.issuer.rfc4514_string()  # RFC 4514
    _el(issuer_serial, "X509SerialNumber").text = str(cert.serial_number)

    # Digests are computed with the Signature already in place so every node sees the same
    # in-scope namespaces the verifier will see; the enveloped transform then drops it.
    detached = copy.deepcopy(root.getroottree())
    detached.getroot().remove(detached.getroot()[-1])
    doc_digest.text = base64.b64encode(
        hashlib.sha256(canonicalize(detached, C14N_10)).digest()).decode()
    props_digest.text = base64.b64encode(
        hashlib.sha256(canonicalize(props, C14N_10)).digest()).decode()
    signature = signer.sign(canonicalize(signed_info, EXC_C14N))
    if scheme == "ecdsa":
        signature = _raw_ecdsa(signature, cert.public_key().key_size)  # type: ignore[union-attr]
    value.text = base64.b64encode(signature).decode()
    out: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    return out
