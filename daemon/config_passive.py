"""``[passive]`` settings: PA offices answered by EC, deciders, reminders, supplier replies,
trust anchors for supplier signatures; and the runtime objects built from them.

Wiring (daemon/config.py): ``passive: PassiveSettings = Field(default_factory=PassiveSettings)``
on `Settings`; `passive_facts` goes to ``InboxRunner(..., facts=...)``; `decision_policy` to
whoever calls ``store.passive.accept/refuse`` (CLI, bot).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from daemon.config_base import ConfigError
from handlers.formats.trust import TrustStore
from handlers.passive.ec_mail import DEFAULT_REPLY, DecisionMailer
from handlers.passive.facts import IntakeTrust, PassivePolicy
from store.passive import DecisionPolicy


class PassiveSettings(BaseModel):
    """Passive invoicing (issue 6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Our receiving office codes (IPA Codice Univoco Ufficio) that are a public administration
    # and answer FPA12 invoices with EC01/EC02 (domain.md §3.3). Unset: every FPA12 file.
    ec_offices: list[str] | None = None
    # Who may accept or refuse (actor ids: CLI user names, bot user ids). Unset: anyone named.
    deciders: list[str] | None = None
    ec_channel: str = "pec"  # the outbox channel alias ECs go out on (to sdiNN)
    # Reminders before the 15-day EC deadline, in days (fractions allowed), tightest last.
    reminder_days: list[float] = Field(default_factory=lambda: [5.0, 2.0, 1.0])
    reminder_channel: str | None = None  # e.g. an "smtp" alias; unset: reminders are logged
    reminder_to: list[str] = Field(default_factory=list)
    reminder_sender: str | None = None
    # B2B refusals: a reply to the supplier's e-mail in the invoice (SdI has no B2B refusal).
    reply_channel: str | None = None  # unset: no reply is sent
    reply_sender: str | None = None  # default: the PEC address the invoice reached
    reply_template: str = DEFAULT_REPLY  # $seller $numero $data $file_name $identificativo $reason
    # CA certificates (PEM/DER) supplier CAdES signatures chain to (e.g. the AgID TSL CAs).
    trust_anchors: list[Path] = Field(default_factory=list)

    @field_validator("ec_offices")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [c for c in value if not (6 <= len(c.strip()) <= 7 and c.strip().isalnum())]
        if bad:
            raise ValueError(f"not office codes (6-7 letters/digits): {bad}")
        return [c.strip().upper() for c in value]

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, value: list[float]) -> list[float]:
        if any(d <= 0 or d >= 15 for d in value):
            raise ValueError("reminder days must be between 0 and 15 (the EC window)")
        return sorted(set(value), reverse=True)


def _anchors(settings: PassiveSettings) -> TrustStore:
    blobs = []
    for path in settings.trust_anchors:
        try:
            blobs.append(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"passive.trust_anchors: cannot read {path}: {exc.strerror}"
                              ) from None
    try:
        return TrustStore.from_bytes(blobs)
    except ValueError as exc:
        raise ConfigError(f"passive.trust_anchors: {exc}") from None


def passive_facts(settings: PassiveSettings, extra_anchors: tuple[bytes, ...] = ()
                  ) -> tuple[object, ...]:
    """The facts the inbox runner injects for the passive intake (trust, PA policy)."""
    store = _anchors(settings)
    if extra_anchors:  # e.g. the sandbox supplier's CA in sandbox mode
        store = TrustStore(anchors=store.anchors + TrustStore.from_bytes(extra_anchors).anchors)
    offices = frozenset(settings.ec_offices) if settings.ec_offices is not None else None
    return (IntakeTrust(store), PassivePolicy(offices))


def decision_policy(settings: PassiveSettings) -> DecisionPolicy:
    """What ``store.passive.accept/refuse`` need: deciders, channels, the mail builders."""
    return DecisionPolicy(
        mailer=DecisionMailer(settings.reply_template),
        deciders=frozenset(settings.deciders) if settings.deciders is not None else None,
        ec_channel=settings.ec_channel,
        reply_channel=settings.reply_channel,
        reply_sender=settings.reply_sender,
    )
