"""Verify enveloped XAdES-BES signatures: SdI's notifications and XAdES-signed invoices.

Implements exactly the XML-DSig subset seen on SdI messages (domain.md §5.3) plus the standard
enveloped profile our own signer writes (`xades_sign`): same-document references only (``URI=""``
and ``#id``), transforms enveloped-signature, XPath Filter 2.0 *subtract* of the ds:Signature
subtrees, C14N 1.0 / exclusive C14N (with or without comments); RSA PKCS#1 v1.5 and ECDSA.
Filter 2.0 XPath expressions are matched against an allow-list, never evaluated: the input is
untrusted. Anything else is reported as ``UNSUPPORTED`` rather than guessed.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from handlers.formats.sig_common import (
    BadCertificate,
    Failure,
    SignatureAlgorithmError,
    SignatureVerdict,
    cert_info,
    fail,
    load_der_cert,
    public_key,
    verify_raw,
)
from handlers.formats.trust import TrustStore
from handlers.formats.xmlsafe import MalformedXml, UnsafeXml, parse

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NAMESPACES = ("http://uri.etsi.org/01903/v1.3.2#", "http://uri.etsi.org/01903/v1.4.1#")
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_COMMENTS = C14N_10 + "#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = EXC_C14N + "WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"

#: C14N method URI → (exclusive, with_comments) for lxml's ``method="c14n"`` serialiser.
_C14N: dict[str, tuple[bool, bool]] = {
    C14N_10: (False, False),
    C14N_10_COMMENTS: (False, True),
    EXC_C14N: (True, False),
    EXC_C14N_COMMENTS: (True, True),
}
#: XML-DSig / RFC 6931 digest URIs.
DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
#: XML-DSig / RFC 6931 signature URIs → (scheme, hash).
SIGNATURES = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", "sha1"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", "sha512"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ecdsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ecdsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ecdsa", "sha512"),
}
# Filter 2.0 expressions we honour: "every ds:Signature element" in its common spellings.
_SIGNATURE_XPATH = re.compile(r"\s*(?:/descendant::|//)([A-Za-z_][\w.-]*):Signature\s*")
_WS = re.compile(r"\s+")
_MAX_REFERENCES = 16


class _Bad(Exception):
    def __init__(self, failure: Failure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


def _q(local: str, ns: str = DS) -> str:
    return f"{{{ns}}}{local}"


def _one(parent: etree._Element, local: str, ns: str = DS) -> etree._Element:
    found = parent.findall(_q(local, ns))
    if len(found) != 1:
        raise _Bad(Failure.MALFORMED, f"expected one ds:{local}, found {len(found)}")
    return found[0]


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode(_WS.sub("", text or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Bad(Failure.MALFORMED, f"{what} is not base64") from exc


def canonicalize(node: etree._Element | etree._ElementTree, method: str) -> bytes:
    """Serialise ``node`` with the C14N ``method`` URI (in-scope namespaces included)."""
    if method not in _C14N:
        raise _Bad(Failure.UNSUPPORTED, f"canonicalization {method}")
    exclusive, comments = _C14N[method]
    out: bytes = etree.tostring(
        node, method="c14n", exclusive=exclusive, with_comments=comments
    )
    return out


def _remove_keep_tail(el: etree._Element) -> None:
    # Removing a subtree must not remove the text that follows it: in lxml that text is the
    # element's .tail, but in the XPath data model it is a sibling text node (Filter 2.0 §3).
    parent = el.getparent()
    if parent is None:
        raise _Bad(Failure.UNSUPPORTED, "transform would remove the document element")
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _index_path(el: etree._Element) -> list[int]:
    """Child indices from the document element down to ``el`` (to find it in a deep copy)."""
    path: list[int] = []
    parent = el.getparent()
    while parent is not None:
        path.append(parent.index(el))
        el, parent = parent, parent.getparent()
    return path[::-1]


def _follow(root: etree._Element, path: list[int]) -> etree._Element:
    for index in path:
        root = root[index]
    return root


def _by_id(root: etree._Element, ident: str) -> etree._Element:
    found = root.xpath("//*[@Id=$v or @ID=$v or @id=$v]", v=ident)
    assert isinstance(found, list)
    if len(found) != 1:  # duplicated Ids are the signature-wrapping attack: refuse
        raise _Bad(Failure.MALFORMED, f"reference #{ident} matches {len(found)} elements")
    el = found[0]
    assert isinstance(el, etree._Element)
    return el


def _dereference(ref: etree._Element, sig: etree._Element) -> tuple[bytes, str]:
    """Apply a Reference's URI and transforms; return the octets to digest and the URI."""
    uri = ref.get("URI")
    root = sig.getroottree().getroot()
    transforms = ref.find(_q("Transforms"))
    algorithms = [] if transforms is None else list(transforms.findall(_q("Transform")))
    if uri == "":
        tree = copy.deepcopy(root.getroottree())
        target: etree._Element | etree._ElementTree = tree
        sig_path = _index_path(sig)
    elif uri is not None and uri.startswith("#") and len(uri) > 1:
        tree = None
        target = _by_id(root, uri[1:])
        sig_path = []
    else:
        raise _Bad(Failure.UNSUPPORTED, f"reference URI {uri!r} (only same-document)")
    method = C14N_10  # XML-DSig §4.3.3.2: a node-set is finally serialised with C14N 1.0
    for transform in algorithms:
        algorithm = transform.get("Algorithm", "")
        if algorithm in _C14N:
            method = algorithm
        elif algorithm == ENVELOPED and tree is not None:
            _remove_keep_tail(_follow(tree.getroot(), sig_path))
        elif algorithm == FILTER2 and tree is not None:
            _filter2_subtract(transform, tree)
        else:
            raise _Bad(Failure.UNSUPPORTED, f"transform {algorithm} on URI {uri!r}")
    return canonicalize(target, method), uri


def _filter2_subtract(transform: etree._Element, tree: etree._ElementTree) -> None:
    """XPath Filter 2.0 ``subtract`` of every ds:Signature subtree (domain.md §5.3)."""
    xpaths = transform.findall(_q("XPath", FILTER2))
    for xp in xpaths:
        match = _SIGNATURE_XPATH.fullmatch(xp.text or "")
        if xp.get("Filter") != "subtract" or match is None or xp.nsmap.get(match[1]) != DS:
            raise _Bad(Failure.UNSUPPORTED, f"Filter 2.0 {xp.get('Filter')} {xp.text!r}")
    if not xpaths:
        raise _Bad(Failure.MALFORMED, "Filter 2.0 transform without XPath")
    for el in list(tree.iter(_q("Signature"))):
        if el.getparent() is not None:
            _remove_keep_tail(el)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the cryptographic part established about one ds:Signature."""

    certs: tuple[x509.Certificate, ...]
    signer: x509.Certificate
    signing_time: dt.datetime | None
    signature_algorithm: str
    digest_algorithm: str


def _check_references(sig: etree._Element, signed_info: etree._Element) -> dict[str, str]:
    refs = signed_info.findall(_q("Reference"))
    if not refs or len(refs) > _MAX_REFERENCES:
        raise _Bad(Failure.MALFORMED, f"{len(refs)} ds:Reference elements")
    covered: dict[str, str] = {}  # URI → Type of every reference whose digest matched
    for ref in refs:
        digest_uri = _one(ref, "DigestMethod").get("Algorithm", "")
        hash_name = DIGESTS.get(digest_uri)
        if hash_name is None:
            raise _Bad(Failure.UNSUPPORTED, f"digest method {digest_uri}")
        octets, uri = _dereference(ref, sig)
        expected = _b64(_one(ref, "DigestValue").text, "DigestValue")
        if not hmac.compare_digest(hashlib.new(hash_name, octets).digest(), expected):
            raise _Bad(Failure.TAMPERED, f"digest of reference {uri!r} does not match")
        covered[uri] = ref.get("Type", "")
    if "" not in covered:
        raise _Bad(Failure.MISSING_ATTRIBUTE, "no reference covers the document (URI=\"\")")
    return covered


def _signature_value(raw: bytes, scheme: str, key: object) -> bytes:
    if scheme == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
        # XML-DSig ECDSA values are r||s (RFC 4050 §3.3), cryptography wants DER.
        half = len(raw) // 2
        if len(raw) % 2 or not half:
            return b""
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)
    return raw


def _find_signed_properties(sig: etree._Element) -> etree._Element | None:
    for ns in XADES_NAMESPACES:
        found = sig.findall(f"{_q('Object')}/{_q('QualifyingProperties', ns)}/"
                            f"{_q('SignedProperties', ns)}")
        if found:
            return found[0]
    return None


def _bind_signer(
    sig: etree._Element,
    props: etree._Element | None,
    certs: list[x509.Certificate],
    covered: dict[str, str],
) -> x509.Certificate:
    """Pick the signer certificate and check it is bound to the signature (XAdES §4.4.1 / 7.2.2).

    Either a signed SigningCertificate(V2) names it by digest, or ds:KeyInfo holding it is
    itself covered by a verified reference (SdI's profile: ``#KeyInfoId``).
    """
    if props is not None:
        ns = etree.QName(props).namespace
        for name in ("SigningCertificate", "SigningCertificateV2"):
            cert_ids = props.findall(f".//{_q(name, ns)}/{_q('Cert', ns)}")
            if cert_ids:
                digest = _one(cert_ids[0], "CertDigest", ns)
                hash_name = DIGESTS.get(_one(digest, "DigestMethod").get("Algorithm", ""))
                if hash_name is None:
                    raise _Bad(Failure.UNSUPPORTED, f"{name} digest method")
                value = _b64(_one(digest, "DigestValue").text, "CertDigest")
                for cert in certs:
                    der = cert.public_bytes(Encoding.DER)
                    if hashlib.new(hash_name, der).digest() == value:
                        return cert
                raise _Bad(Failure.SIGNER_CERT, f"{name} digest matches no certificate")
    key_info = sig.find(_q("KeyInfo"))
    key_info_id = None if key_info is None else key_info.get("Id")
    if key_info_id and f"#{key_info_id}" in covered and certs:
        return certs[0]
    raise _Bad(Failure.SIGNER_CERT, "signer certificate neither in SigningCertificate nor signed")


def _signing_time(props: etree._Element | None) -> dt.datetime | None:
    if props is None:
        return None
    ns = etree.QName(props).namespace
    node = props.find(f".//{_q('SigningTime', ns)}")
    if node is None or not node.text:
        return None
    try:
        when = dt.datetime.fromisoformat(node.text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(Failure.MALFORMED, f"SigningTime {node.text!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _verify_crypto(sig: etree._Element) -> _Checked:
    signed_info = _one(sig, "SignedInfo")
    c14n_uri = _one(signed_info, "CanonicalizationMethod").get("Algorithm", "")
    sig_uri = _one(signed_info, "SignatureMethod").get("Algorithm", "")
    if sig_uri not in SIGNATURES:
        raise _Bad(Failure.UNSUPPORTED, f"signature method {sig_uri}")
    scheme, hash_name = SIGNATURES[sig_uri]
    certs = [
        _load_cert(_b64(node.text, "X509Certificate"))
        for node in sig.iterfind(f"{_q('KeyInfo')}/{_q('X509Data')}/{_q('X509Certificate')}")
    ]
    if not certs:
        raise _Bad(Failure.SIGNER_CERT, "no X509Certificate in ds:KeyInfo")
    covered = _check_references(sig, signed_info)
    props = _find_signed_properties(sig)
    if props is not None:
        props_id = props.get("Id")
        if not props_id or covered.get(f"#{props_id}") is None:
            raise _Bad(Failure.MISSING_ATTRIBUTE, "xades:SignedProperties not covered")
    signer = _bind_signer(sig, props, certs, covered)
    raw = _b64(_one(sig, "SignatureValue").text, "SignatureValue")
    data = canonicalize(signed_info, c14n_uri)
    try:
        key = public_key(signer)
        good = verify_raw(key, scheme, hash_name, data, _signature_value(raw, scheme, key))
    except SignatureAlgorithmError as exc:
        raise _Bad(Failure.UNSUPPORTED, str(exc)) from exc
    if not good:
        raise _Bad(Failure.TAMPERED, "SignatureValue does not verify over ds:SignedInfo")
    return _Checked(tuple(certs), signer, _signing_time(props), sig_uri, hash_name)


def _load_cert(der: bytes) -> x509.Certificate:
    try:
        return load_der_cert(der)
    except BadCertificate as exc:
        raise _Bad(Failure.MALFORMED, f"unreadable X509Certificate: {exc}") from exc


def verify_signature(
    sig: etree._Element, trust: TrustStore, *, at: dt.datetime | None = None
) -> SignatureVerdict:
    """Verify one ds:Signature element of a parsed document."""
    info: dict[str, object] = {}
    try:
        checked = _verify_crypto(sig)
        info.update(cert_info(checked.signer))
        info.update(
            intact=True,
            signing_time=checked.signing_time,
            signature_algorithm=checked.signature_algorithm,
            digest_algorithm=checked.digest_algorithm,
        )
        when = at if at is not None else checked.signing_time
        if when is None:
            raise _Bad(Failure.NO_SIGNING_TIME, "no xades:SigningTime and no time given")
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        info["validated_at"] = when
        chain = trust.check_signer(checked.signer, checked.certs, when)
        if not chain.ok:
            assert chain.failure is not None
            raise _Bad(chain.failure, chain.reason)
    except _Bad as bad:
        return fail(bad.failure, bad.reason, **info)
    except Exception as exc:  # lxml/cryptography on hostile input: a verdict, never a crash
        return fail(Failure.MALFORMED, f"unverifiable ds:Signature: {exc!r}", **info)
    return SignatureVerdict(ok=True, failure=None, reason="valid", chain=chain.chain, **info)  # type: ignore[arg-type]


def verify_all(
    xml: bytes, trust: TrustStore, *, at: dt.datetime | None = None
) -> tuple[SignatureVerdict, ...]:
    """One verdict per enveloped ds:Signature (child of the document element)."""
    try:
        root = parse(xml)
    except (MalformedXml, UnsafeXml) as exc:
        return (fail(Failure.MALFORMED, str(exc)),)
    signatures = root.findall(_q("Signature"))
    if not signatures:
        return (fail(Failure.UNSIGNED, "no enveloped ds:Signature in the document element"),)
    return tuple(verify_signature(s, trust, at=at) for s in signatures)


def verify(xml: bytes, trust: TrustStore, *, at: dt.datetime | None = None) -> SignatureVerdict:
    """Verify an enveloped-XAdES document (SdI notification, XAdES invoice); never raises.

    ``at`` overrides the validation time (default: xades:SigningTime).
    """
    verdicts = verify_all(xml, trust, at=at)
    return next((v for v in verdicts if not v.ok), verdicts[0])

