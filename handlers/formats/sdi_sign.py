"""Sign an SdI message with XAdES-BES exactly in SdI's own profile (domain.md §5.3).

This is not the enveloped profile `xades_sign` writes for invoices; it replicates the
``ds:Signature`` of the real notifications (IT03339130126_00009_RC_003.xml,
IT14627831002_02621_MC_001.xml) element by element: ``Id="Signature1"``, SignedInfo in exclusive
C14N, rsa-sha256, Reference ``reference-document`` (``URI=""``, one XPath Filter 2.0
``subtract`` of ``/descendant::ds:Signature``, then inclusive C14N 1.0), Reference
``reference-signedpropeties`` (sic, SdI's spelling) to ``#SignedProperties_1`` and
``reference-keyinfo`` to ``#KeyInfoId`` (no transforms, C14N 1.0), base64 in 76-column lines,
QualifyingProperties with SigningTime only. The signature is appended as the last child of the
root, right after the newline that ends the body, as SdI does. `xades.verify` checks it back.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from handlers.formats.sig_common import Signer, signer_scheme
from handlers.formats.xades import (
    C14N_10,
    DS,
    EXC_C14N,
    FILTER2,
    SIGNED_PROPERTIES_TYPE,
    XADES_NAMESPACES,
    canonicalize,
)

__all__ = ["sign_sdi_profile"]

_XADES = XADES_NAMESPACES[0]  # v1.3.2, as in the real notifications
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _el(parent: etree._Element, local: str, ns: str = DS, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{local}", attrs)


def _b64(data: bytes) -> str:
    # SdI (Java) wraps base64 at 76 columns with bare LF, as in RFC 2045.
    text = base64.b64encode(data).decode()
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def _reference(signed_info: etree._Element, ident: str, uri: str,
               type_: str | None = None) -> etree._Element:
    attrs = {"Id": ident}
    if type_ is not None:
        attrs["Type"] = type_
    attrs["URI"] = uri
    return _el(signed_info, "Reference", **attrs)


def _digest(ref: etree._Element) -> etree._Element:
    _el(ref, "DigestMethod", Algorithm=_SHA256)
    return _el(ref, "DigestValue")


def sign_sdi_profile(root: etree._Element, signer: Signer, signing_time: dt.datetime) -> None:
    """Append SdI's ``ds:Signature`` to ``root`` (in place). RSA keys only: SdI signs with RSA
    and the profile names rsa-sha256."""
    if signer_scheme(signer.certificate) != "rsa":
        raise ValueError("SdI's signature profile is rsa-sha256: the signer needs an RSA key")
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    when = signing_time.astimezone(dt.UTC)

    sig = etree.SubElement(root, f"{{{DS}}}Signature", {"Id": "Signature1"}, nsmap={"ds": DS})
    signed_info = _el(sig, "SignedInfo")
    _el(signed_info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _el(signed_info, "SignatureMethod", Algorithm=_RSA_SHA256)
    doc_ref = _reference(signed_info, "reference-document", "")
    transform = _el(_el(doc_ref, "Transforms"), "Transform", Algorithm=FILTER2)
    xpath = etree.SubElement(transform, f"{{{FILTER2}}}XPath", {"Filter": "subtract"},
                             nsmap={None: FILTER2})
    xpath.text = "/descendant::ds:Signature"
    doc_digest = _digest(doc_ref)
    props_digest = _digest(_reference(signed_info, "reference-signedpropeties",
                                      "#SignedProperties_1", SIGNED_PROPERTIES_TYPE))
    key_digest = _digest(_reference(signed_info, "reference-keyinfo", "#KeyInfoId"))
    value = _el(sig, "SignatureValue", Id="SignatureValue1")
    key_info = _el(sig, "KeyInfo", Id="KeyInfoId")
    x509_data = _el(key_info, "X509Data")
    for cert in (signer.certificate, *signer.chain):
        _el(x509_data, "X509Certificate").text = _b64(cert.public_bytes(Encoding.DER))
    qualifying = etree.SubElement(_el(sig, "Object"), f"{{{_XADES}}}QualifyingProperties",
                                  {"Target": "#Signature1"}, nsmap={"xades": _XADES})
    props = _el(qualifying, "SignedProperties", _XADES, Id="SignedProperties_1")
    ssp = _el(props, "SignedSignatureProperties", _XADES)
    _el(ssp, "SigningTime", _XADES).text = when.strftime("%Y-%m-%dT%H:%M:%SZ")

    # Filter 2.0 subtract = the document without any ds:Signature subtree; ours is the last
    # child and has no tail, so removing it from a copy gives exactly that node-set.
    detached = copy.deepcopy(root.getroottree())
    for node in detached.getroot().findall(f"{{{DS}}}Signature"):
        detached.getroot().remove(node)
    doc_digest.text = base64.b64encode(
        hashlib.sha256(canonicalize(detached, C14N_10)).digest()).decode()
    props_digest.text = base64.b64encode(
        hashlib.sha256(canonicalize(props, C14N_10)).digest()).decode()
    key_digest.text = base64.b64encode(
        hashlib.sha256(canonicalize(key_info, C14N_10)).digest()).decode()
    value.text = _b64(signer.sign(canonicalize(signed_info, EXC_C14N)))
