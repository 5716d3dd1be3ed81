"""Verify SdI's XAdES signature on a notification (domain.md §5.3) against configured anchors.

The anchors come as a *fact* the inbox runner injects from the configuration (`SdiTrust`):
handlers stay pure. Policy (§5.3): real notifications are signed, but copies modified
downstream and official examples are not or no longer verify, so by default a failure is
reported (kept with the notification in the invoice history) and does not block; with
``policy="reject"`` the item is held for an operator instead. Without the fact nothing is
checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.formats import xades
from handlers.formats.trust import TrustStore
from handlers.registry import handler
from handlers.sdi_notifications import SdiNotification
from handlers.work import Disposition, Effect, Stop, Work


@dataclass(frozen=True, slots=True)
class SdiTrust:
    """Configuration fact: the CAs SdI's signing certificate must chain to, and the policy."""

    store: TrustStore
    policy: Literal["warn", "reject"] = "warn"


@dataclass(frozen=True, slots=True)
class SdiSignature:
    """The verdict on one notification's signature."""

    file_name: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class NoteSdiSignature(Effect):
    """Keep the verdict with the recorded notification (the active applier does)."""

    signature: SdiSignature


@handler("verify-sdi-signature")
def verify_sdi_signature(work: Work) -> Work | Stop:
    """Verify, then warn or hold as the `SdiTrust` policy says."""
    trust = work.fact(SdiTrust)
    if trust is None:
        return work
    note = work.require(SdiNotification)
    verdict = xades.verify(note.content, trust.store)
    reason = "valid" if verdict.ok else f"{verdict.failure}: {verdict.reason}"
    if not verdict.ok and trust.policy == "reject":
        return work.stop(
            Disposition.QUARANTINE, f"SdI signature of {note.file_name} not valid: {reason}"
        )
    signature = SdiSignature(note.file_name, verdict.ok, reason)
    return work.with_facts(signature).with_effects(NoteSdiSignature(signature))
