"""``[invoicing]`` settings: seller profile, signing, numbering, channel, alerts, schedule.

Frozen and strict like every section of `daemon.config` (an unknown key stops startup naming
it). The signing password is a `SecretRef`, never a literal. In sandbox mode, with no PKCS#12
configured, a throw-away sandbox key signs (SdI's sandbox accepts it; nothing is fiscal there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from daemon.config_base import SecretRef, _Model


class SigningSettings(_Model):
    """How files are signed: mandatory for FPA12, optional for FPR12 (domain.md §5.1)."""

    pkcs12: Path | None = None  # qualified certificate + key (.p12/.pfx)
    password: SecretRef | None = None
    format: Literal["cades", "xades"] = "cades"  # .xml.p7m or enveloped .xml
    sign_fpr12: bool = False  # also sign B2B/B2C invoices

    @model_validator(mode="after")
    def _password_with_file(self) -> SigningSettings:
        if self.password is not None and self.pkcs12 is None:
            raise ValueError("password given without pkcs12")
        return self


class AlertSettings(_Model):
    """Timers of domain.md §3.4 and where alerts go (always the log; e-mail if ``email_to``)."""

    pec_acceptance_minutes: float = Field(30, gt=0)
    sdi_answer_days: float = Field(5, gt=0)
    pa_outcome_days: float = Field(16, gt=0)
    email_to: list[str] = Field(default_factory=list)
    channel: str = "email"  # outbox channel alias for alert e-mails
    sender: str | None = None


class ScheduleSettings(_Model):
    """The scheduled jobs: timers/alerts, and the automatic send of invoices marked for it."""

    timers_minutes: float = Field(5, gt=0)
    auto_send: bool = False  # send invoices created with auto_send = true, on this schedule
    auto_send_minutes: float = Field(15, gt=0)
    auto_send_batch: int = Field(200, ge=1)


class InvoicingSettings(_Model):
    """Everything the active invoicing cycle reads from ``[invoicing]``."""

    seller: str | None = None  # default seller profile (address-book key); None: the only one
    sender: str | None = None  # our PEC address (From); None: the channel's / sandbox's
    channel: str = "pec"  # outbox channel alias that reaches SdI
    # Register -> Numero template ({number}, {year}, {register}); Numero must hold a digit
    # (00425) and be unique per seller and year (00404): give each register its own shape.
    registers: dict[str, str] = Field(default_factory=lambda: {"": "{number}"})
    default_register: str = ""
    credit_note_register: str | None = None  # None: the default register
    signing: SigningSettings = Field(default_factory=SigningSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    # SdI's XAdES signature on notifications (§5.3): anchors as PEM files; warn or hold.
    sdi_ca_files: list[Path] = Field(default_factory=list)
    sdi_signature_policy: Literal["off", "warn", "reject"] = "warn"

    @model_validator(mode="after")
    def _registers(self) -> InvoicingSettings:
        for name in (self.default_register, self.credit_note_register):
            if name is not None and name not in self.registers:
                raise ValueError(f"register {name!r} is not in [invoicing.registers]")
        for name, template in self.registers.items():
            if "{number}" not in template:
                raise ValueError(f"register {name!r}: the template needs {{number}}")
        return self
