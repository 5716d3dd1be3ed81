"""Verify the SignerInfos of a CMS SignedData over known content (CAdES-BES and S/MIME).

Shared by `p7m` (encapsulated content, CAdES profile) and `smime` (detached content over the
first MIME part). Checks, in order, per RFC 5652 §5.4/§5.6/§11 and ETSI EN 319 122-1 (CAdES-BES):
signer certificate present → content-type and message-digest attributes → signature value over
the DER SET OF signed attributes (from here on the verdict is ``intact``) → a time to validate at
→ ESS signing-certificate(-v2) binds the certificate (RFC 5035) → `TrustStore.check_signer`:
validity window at that time, key usage, path to a trust anchor. The first failing check names
the verdict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator

from asn1crypto import algos, cms, core
from asn1crypto import tsp as _tsp  # noqa: F401 - registers signing-certificate(-v2) in cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from handlers.formats.sig_common import (
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

#: Digests accepted for a CAdES invoice signature (SHA-1 is refused by AgID rules since 2011).
STRONG_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
#: PEC providers still sign S/MIME envelopes with SHA-1 (micalg="sha1", domain.md §4.2).
LEGACY_DIGESTS = STRONG_DIGESTS | {"sha1", "sha224"}

_SCHEMES = {"rsassa_pkcs1v15": "rsa", "rsassa_pss": "rsassa_pss", "ecdsa": "ecdsa",
            "ed25519": "ed25519"}


class _Bad(Exception):
    """Internal: a check failed; carries the verdict fields."""

    def __init__(self, failure: Failure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


def _certificates(sd: cms.SignedData) -> list[tuple[asn1_x509.Certificate, x509.Certificate]]:
    out = []
    for choice in sd["certificates"] or ():
        if choice.name != "certificate":  # attribute / other certificate formats are not signers
            continue
        c = choice.chosen
        out.append((c, load_der_cert(c.dump())))
    return out


def _same_name(a: asn1_x509.Name, b: asn1_x509.Name) -> bool:
    # Byte equality first (the usual case, cheap); asn1crypto's RFC 5280 §7.1 comparison
    # (case/whitespace-insensitive, ~1 ms: stringprep) only when the encodings differ. Untagged,
    # because a Name inside a GeneralName (ESS IssuerSerial) carries the explicit [4] tag.
    return bool(a.untag().dump() == b.untag().dump() or a == b)


def _find_signer(
    sid: cms.SignerIdentifier, certs: list[tuple[asn1_x509.Certificate, x509.Certificate]]
) -> tuple[asn1_x509.Certificate, x509.Certificate]:
    for a, c in certs:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if a.serial_number == ias["serial_number"].native and _same_name(
                a.issuer, ias["issuer"]
            ):
                return a, c
        elif a.key_identifier == sid.chosen.native:
            return a, c
    raise _Bad(Failure.SIGNER_CERT, "signer certificate not included in the SignedData")


def _attr_values(attrs: cms.CMSAttributes) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for attr in attrs:
        name = attr["type"].native
        if name in out:  # RFC 5652 §5.3: each attribute type appears once
            raise _Bad(Failure.MALFORMED, f"signed attribute {name} repeated")
        out[name] = list(attr["values"])
    return out


def _to_be_signed(attrs: cms.CMSAttributes) -> Iterator[bytes]:
    # RFC 5652 §5.4: the signature covers the DER encoding of the SET OF with the EXPLICIT SET
    # tag (0x31), not the [0] IMPLICIT tag stored in the SignerInfo. Try the stored bytes first
    # (exactly what the signer hashed when it wrote DER), then a DER re-encoding (sorted SET OF),
    # for files whose stored attributes are BER (indefinite length / unsorted).
    stored = attrs.dump()
    yield b"\x31" + stored[1:]
    rebuilt = cms.CMSAttributes.load(b"\x31" + stored[1:]).dump(force=True)
    if rebuilt != b"\x31" + stored[1:]:
        yield rebuilt


def _signing_time(values: dict[str, list[object]]) -> dt.datetime | None:
    if "signing_time" not in values:
        return None
    value = values["signing_time"][0].native  # type: ignore[attr-defined]
    if not isinstance(value, dt.datetime):
        raise _Bad(Failure.MALFORMED, "signingTime is not a time")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _check_ess(values: dict[str, list[object]], signer: asn1_x509.Certificate) -> str:
    """Check the ESS signing-certificate(-v2) attribute against the signer (RFC 5035 §5.4)."""
    if "signing_certificate_v2" in values:
        ids = values["signing_certificate_v2"][0]["certs"]  # type: ignore[index]
        hash_name = ids[0]["hash_algorithm"]["algorithm"].native
        which = "signing-certificate-v2"
    elif "signing_certificate" in values:
        ids = values["signing_certificate"][0]["certs"]  # type: ignore[index]
        hash_name = "sha1"  # ESSCertID (RFC 2634 §5.4.1) is always SHA-1
        which = "signing-certificate"
    else:
        raise _Bad(Failure.MISSING_ATTRIBUTE,
                   "no ESS signing-certificate(-v2) attribute: not CAdES-BES")
    first = ids[0]  # the first ESSCertID identifies the signer certificate
    if hash_name not in hashlib.algorithms_available:
        raise _Bad(Failure.UNSUPPORTED, f"{which} hash {hash_name} unsupported")
    if hashlib.new(hash_name, signer.dump()).digest() != first["cert_hash"].native:
        raise _Bad(Failure.SIGNER_CERT, f"{which} hash does not match the signer certificate")
    issuer_serial = first["issuer_serial"]
    if not isinstance(issuer_serial, core.Void):
        if issuer_serial["serial_number"].native != signer.serial_number:
            raise _Bad(Failure.SIGNER_CERT, f"{which} serial does not match the signer")
        names = [g.chosen for g in issuer_serial["issuer"] if g.name == "directory_name"]
        if names and not any(_same_name(signer.issuer, n) for n in names):
            raise _Bad(Failure.SIGNER_CERT, f"{which} issuer does not match the signer")
    return which


def _check_signature(
    si: cms.SignerInfo, cert: x509.Certificate, digest: str, tbs: Iterable[bytes]
) -> None:
    sig_alg: algos.SignedDigestAlgorithm = si["signature_algorithm"]
    scheme = _SCHEMES.get(sig_alg.signature_algo)
    if scheme is None:
        raise _Bad(Failure.UNSUPPORTED, f"signature algorithm {sig_alg['algorithm'].native}")
    salt: int | None = None
    hash_name = digest
    if scheme == "rsassa_pss":
        params = sig_alg["parameters"]
        hash_name = params["hash_algorithm"]["algorithm"].native
        salt = params["salt_length"].native
    signature = si["signature"].native
    try:
        key = public_key(cert)
        if any(verify_raw(key, scheme, hash_name, d, signature, pss_salt_length=salt) for d in tbs):
            return
    except SignatureAlgorithmError as exc:
        raise _Bad(Failure.UNSUPPORTED, str(exc)) from exc
    raise _Bad(Failure.TAMPERED, "signature value does not verify (signed data altered)")


def verify_signer_info(
    sd: cms.SignedData,
    si: cms.SignerInfo,
    content: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    cades: bool = True,
) -> SignatureVerdict:
    """Verify one SignerInfo over ``content`` (eContent or the detached MIME part)."""
    info: dict[str, object] = {}
    try:
        a_cert, cert = _find_signer(si["sid"], _certificates(sd))
        info.update(cert_info(cert))
        digest = si["digest_algorithm"]["algorithm"].native
        info["digest_algorithm"] = digest
        info["signature_algorithm"] = si["signature_algorithm"]["algorithm"].native
        if digest not in (STRONG_DIGESTS if cades else LEGACY_DIGESTS):
            raise _Bad(Failure.UNSUPPORTED, f"digest algorithm {digest} not accepted")
        attrs = si["signed_attrs"]
        values: dict[str, list[object]] = {}
        has_attrs = not isinstance(attrs, core.Void)  # .native would decode everything
        if has_attrs:
            values = _attr_values(attrs)
            info["signing_time"] = _signing_time(values)  # claimed; trusted once intact
        if not has_attrs:
            if cades:  # CAdES-BES needs signed attributes (ETSI EN 319 122-1 §5.2)
                raise _Bad(Failure.MISSING_ATTRIBUTE, "no signed attributes: not CAdES-BES")
            tbs: Iterable[bytes] = [content]
        else:
            for needed in ("content_type", "message_digest"):  # RFC 5652 §5.3
                if needed not in values:
                    raise _Bad(Failure.MISSING_ATTRIBUTE, f"signed attribute {needed} missing")
            econtent_type = sd["encap_content_info"]["content_type"].native
            if values["content_type"][0].native != econtent_type:  # type: ignore[attr-defined]
                raise _Bad(Failure.TAMPERED, "content-type attribute differs from eContentType")
            md = values["message_digest"][0].native  # type: ignore[attr-defined]
            if hashlib.new(digest, content).digest() != md:
                raise _Bad(Failure.TAMPERED, f"message digest ({digest}) does not match content")
            tbs = _to_be_signed(attrs)  # lazy: the DER rebuild is costly and rarely needed
        _check_signature(si, cert, digest, tbs)
        info["intact"] = True
        signing_time = _signing_time(values)
        when = _utc(at) if at is not None else signing_time
        if when is None:
            raise _Bad(Failure.NO_SIGNING_TIME, "no signingTime attribute and no time given")
        info["validated_at"] = when
        ess = _check_ess(values, a_cert) if cades else "not required"
        chain = trust.check_signer(cert, [c for _, c in _certificates(sd)], when)
        if not chain.ok:
            assert chain.failure is not None
            raise _Bad(chain.failure, chain.reason)
    except _Bad as bad:
        return fail(bad.failure, bad.reason, **info)
    except Exception as exc:
        # asn1crypto and cryptography parse lazily: a corrupted field only surfaces when it is
        # read here, with whatever exception type that library uses. A verdict, never a crash.
        return fail(Failure.MALFORMED, f"unreadable SignerInfo: {exc!r}", **info)
    return SignatureVerdict(
        ok=True, failure=None, reason=f"valid; ESS {ess}", chain=chain.chain, **info  # type: ignore[arg-type]
    )


def verify_signed_data(
    sd: cms.SignedData,
    content: bytes,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    cades: bool = True,
) -> tuple[SignatureVerdict, ...]:
    """Verify every SignerInfo of ``sd`` over ``content``; one verdict per signer."""
    try:
        infos = list(sd["signer_infos"])
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return (fail(Failure.MALFORMED, f"unreadable SignerInfos: {exc!r}"),)
    if not infos:
        return (fail(Failure.MALFORMED, "SignedData has no SignerInfo"),)
    return tuple(verify_signer_info(sd, si, content, trust, at=at, cades=cades) for si in infos)
