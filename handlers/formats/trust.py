"""Trust anchors and certificate-path validation at a given instant.

A `TrustStore` is built from anchor certificates passed in as bytes (PEM bundles or DER; loading
them from disk or from the AgID trusted list is the caller's job) plus optional intermediates, and
answers one question: does this signer certificate chain to an anchor *at time t*? Signatures
are judged at signing time, never "now" (domain.md §5.2), so the time is always explicit.
Path building and RFC 5280 checks are delegated to ``cryptography.x509.verification``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from handlers.formats.sig_common import (
    BadCertificate,
    Failure,
    dn,
    key_usage_ok,
    load_der_cert,
)

#: Longest path accepted (leaf + intermediates + anchor); real qualified chains have 2–3.
MAX_CHAIN_DEPTH = 6


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Parse one DER certificate or a PEM bundle; raise `BadCertificate`."""
    try:
        if b"-----BEGIN" in data:
            return list(x509.load_pem_x509_certificates(data))
        return [load_der_cert(data)]
    except BadCertificate:
        raise
    except ValueError as exc:
        raise BadCertificate(f"not a PEM/DER X.509 certificate: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ChainResult:
    """Outcome of path validation: the validated chain (leaf first) or why there is none."""

    ok: bool
    failure: Failure | None
    reason: str
    chain: tuple[str, ...] = ()


def _ca_policy() -> ExtensionPolicy:
    # Qualified-signature CAs (InfoCert, Aruba, AgE) do not follow the Web PKI profile: accept any
    # extensions, but an issuer must still be a CA (basicConstraints), as RFC 5280 §4.2.1.9 says.
    return ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, Criticality.AGNOSTIC, None
    )


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Anchors (trusted as given) and intermediates (usable to build paths, not trusted)."""

    anchors: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    _store: Store | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.anchors:
            object.__setattr__(self, "_store", Store(list(self.anchors)))

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable as DER (the inbox decides items in worker processes: daemon/deciding.py);
        # certificate objects themselves cannot be pickled.
        return (TrustStore.from_bytes, (
            [c.public_bytes(Encoding.DER) for c in self.anchors],
            [c.public_bytes(Encoding.DER) for c in self.intermediates],
        ))

    @classmethod
    def from_bytes(
        cls, anchors: Iterable[bytes], intermediates: Iterable[bytes] = ()
    ) -> TrustStore:
        """Build a store from PEM/DER blobs (each blob may be a PEM bundle)."""
        return cls(
            anchors=tuple(c for blob in anchors for c in load_certificates(blob)),
            intermediates=tuple(c for blob in intermediates for c in load_certificates(blob)),
        )

    @property
    def empty(self) -> bool:
        """True when no anchor is configured: nothing can be trusted."""
        return not self.anchors

    def check_signer(
        self,
        leaf: x509.Certificate,
        untrusted: Sequence[x509.Certificate],
        at: dt.datetime,
    ) -> ChainResult:
        """Is ``leaf`` an acceptable signing certificate at ``at`` (the signing time)?

        Checked in the order that gives the most specific answer: validity window of the
        signer itself (a 2018 signature made with a certificate expiring in 2021 passes),
        key usage (RFC 5280 §4.2.1.3), then the path to an anchor.
        """
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        if at < leaf.not_valid_before_utc:
            return ChainResult(False, Failure.NOT_YET_VALID_AT_SIGNING,
                               f"signer certificate not valid before {leaf.not_valid_before_utc}")
        if at > leaf.not_valid_after_utc:
            return ChainResult(False, Failure.EXPIRED_AT_SIGNING,
                               f"signer certificate expired {leaf.not_valid_after_utc}")
        if not key_usage_ok(leaf):
            return ChainResult(False, Failure.KEY_USAGE,
                               "key usage lacks nonRepudiation/digitalSignature")
        return self.validate(leaf, untrusted, at)

    def validate(
        self,
        leaf: x509.Certificate,
        untrusted: Sequence[x509.Certificate],
        at: dt.datetime,
    ) -> ChainResult:
        """Validate a path from ``leaf`` to an anchor, every certificate valid at ``at``.

        ``untrusted`` are certificates shipped with the signature (CMS certificates, KeyInfo);
        they and the store's intermediates may be used as path elements, never as anchors.
        """
        if self._store is None:
            return ChainResult(False, Failure.NO_TRUST_ANCHORS, "no trust anchors configured")
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(ca_policy=_ca_policy(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        pool = [c for c in (*untrusted, *self.intermediates) if c != leaf]
        try:
            verified = verifier.verify(leaf, pool)
        except VerificationError as exc:
            message = str(exc)
            failure = (
                Failure.EXPIRED_AT_SIGNING
                if "not valid at validation time" in message
                else Failure.UNTRUSTED_CHAIN
            )
            return ChainResult(False, failure, f"chain validation at {at.isoformat()}: {message}")
        chain = tuple(dn(c.subject) for c in verified.chain)
        return ChainResult(True, None, "chain to a trust anchor", chain)
