"""Configuration: one TOML file validated into frozen, typed settings at startup.

Unknown or invalid keys stop startup with a message naming the key and the file. Secrets are
never written in the TOML: a secret field holds a reference (``{ env = "NAME" }``,
``{ credential = "name" }`` for systemd ``LoadCredential``, or ``{ file = "/path" }``) resolved
when it is needed, and `Secret` values never show themselves in a repr or a log line.
"""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from daemon.config_archive import ArchiveSettings
from daemon.config_base import (
    ConfigError,
    Port,
    SecretRef,
    Security,
    _is_loopback,
    _Model,
)
from daemon.config_bot import BotSettings
from daemon.config_campaigns import CampaignSettings
from daemon.config_invoicing import InvoicingSettings
from daemon.config_passive import PassiveSettings

__all__ = ["ConfigError", "SecretRef", "Settings", "load_settings", "parse_settings"]


def default_data_dir() -> Path:
    """Return the data directory every command uses when none is configured."""
    if env := os.environ.get("PECORA_DATA_DIR"):
        return Path(env)
    if env := os.environ.get("STATE_DIRECTORY"):  # systemd StateDirectory=
        return Path(env.split(":")[0])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pecora"


class DaemonSettings(_Model):
    """Process-wide settings."""

    data_dir: Path = Field(default_factory=default_data_dir)
    node_name: str = Field(default_factory=socket.gethostname, min_length=1, max_length=100)
    grace_seconds: float = Field(20.0, gt=0)
    auto_migrate: bool = True
    watchdog: bool = True
    lease_seconds: float = Field(30, ge=1)  # a dead node's mailboxes are taken over after this


class DatabaseSettings(_Model):
    """Where the store lives; SQLite under the data directory when no URL is given."""

    url: str | None = None
    password: SecretRef | None = None


class LoggingSettings(_Model):
    """Log format and level."""

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MetricsSettings(_Model):
    """Prometheus text exposition on a loopback port."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 9464


class ListenerSettings(_Model):
    """The LMTP (or SMTP) ingress server."""

    enabled: bool = True
    protocol: Literal["lmtp", "smtp"] = "lmtp"
    host: str = "127.0.0.1"
    port: Port = 10024
    tls_cert: Path | None = None
    tls_key: Path | None = None
    auth_users: dict[str, SecretRef] = Field(default_factory=dict)
    # Hard cap on what the server takes; anything larger is refused with 552 by aiosmtpd.
    # Mail over the policy limit of [inbox] is still taken in, kept raw and quarantined.
    data_size_limit: int = Field(100 * 1024 * 1024, gt=0)
    accept_recipients: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _secure_off_loopback(self) -> ListenerSettings:
        insecure = self.tls_cert is None or self.tls_key is None or not self.auth_users
        if self.enabled and not _is_loopback(self.host) and insecure:
            raise ValueError(
                f"host {self.host} is not loopback: tls_cert, tls_key and auth_users "
                "are required (STARTTLS and AUTH)"
            )
        return self


class MailboxSettings(_Model):
    """One IMAP mailbox watched by the daemon."""

    host: str
    port: Port = 993
    security: Security = "tls"
    username: str
    password: SecretRef
    folder: str = "INBOX"
    processed_folder: str | None = None  # move there after commit; else set \Seen
    batch_size: int = Field(200, ge=1, le=5000)
    idle_renew_seconds: float = Field(25 * 60, gt=0, le=29 * 60)  # RFC 2177: < 29 minutes
    poll_seconds: float = Field(60, gt=0)
    backoff_max_seconds: float = Field(300, gt=0)
    connect_timeout: float = Field(30, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None
    enabled: bool = True


class RetryPolicy(_Model):
    """How an outbox channel retries temporary failures."""

    backoff_seconds: list[float] = Field(default_factory=lambda: [30, 120, 600, 1800, 3600])
    max_attempts: int = Field(10, ge=1)
    deliver_until_hours: float = Field(72, gt=0)


class RateLimit(_Model):
    """How fast a channel may send: token bucket, concurrency cap, and a sliding-window quota."""

    per_second: float | None = Field(None, gt=0)  # token refill rate; None: unlimited
    burst: int = Field(10, ge=1)  # bucket size
    max_concurrency: int = Field(10, ge=1)  # submissions in flight at once
    window_quota: int | None = Field(None, ge=1)  # e.g. a provider's daily quota ...
    window_seconds: float = Field(86400, gt=0)  # ... over this sliding window


class ChannelSettings(_Model):
    """One outbound channel, configured by alias (``[channels.pec-main]``)."""

    kind: Literal["smtp", "pec", "memory", "sms", "fax", "registered-mail"]
    host: str = "127.0.0.1"
    port: Port = 465
    security: Security = "tls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str | None = None
    timeout: float = Field(60, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None
    batch_size: int = Field(20, ge=1, le=1000)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    rate: RateLimit = Field(default_factory=RateLimit)
    # HTTP provider channels (sms, fax, registered-mail)
    base_url: str | None = None  # the provider's API root (https:// unless on loopback)
    api_key: SecretRef | None = None
    webhook_secret: SecretRef | None = None  # authenticates the provider's delivery reports


class InboxSettings(_Model):
    """The inbox runner."""

    max_claims: int = Field(3, ge=1)
    max_message_bytes: int = Field(30 * 1024 * 1024, gt=0)  # PEC providers cap messages at ~30 MB
    batch_size: int = Field(20, ge=1)
    poll_seconds: float = Field(1.0, gt=0)
    stale_claim_minutes: float = Field(15, gt=0)
    # Worker processes that run the pure pipelines (daemon/deciding.py); 0: a thread of the
    # daemon's process. Unset: one per core but one, at most four.
    decide_workers: int | None = Field(None, ge=0)


class OutboxSettings(_Model):
    """The outbox runner."""

    # Per channel alias, the most items claimed and not yet recorded: what a crash can leave
    # to be sent again (the runner claims that many at once when its lanes run dry).
    batch_size: int = Field(50, ge=1)
    poll_seconds: float = Field(1.0, gt=0)
    unavailable_retry_seconds: float = Field(30, gt=0)
    stale_claim_minutes: float = Field(15, gt=0)


class SandboxSettings(_Model):
    """The built-in sandbox: a local SdI and PEC providers, so nothing leaves the machine."""

    enabled: bool = True
    host: str = "127.0.0.1"
    smtp_port: Port = 10587  # the sandbox PEC provider's submission port
    clock_factor: float = Field(1.0, gt=0)  # > 1: SdI's days pass faster (demo, tests)
    scenarios: Path | None = None  # TOML table of SdI scenarios; built-in table if unset
    user_address: str = "fatture@pec.sandbox.test"

    @model_validator(mode="after")
    def _loopback_only(self) -> SandboxSettings:
        if not _is_loopback(self.host):
            raise ValueError(f"the sandbox serves loopback only, not {self.host}")
        return self


class Settings(_Model):
    """Everything pecora reads from its configuration file."""

    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    lmtp: ListenerSettings = Field(default_factory=ListenerSettings)
    mailboxes: dict[str, MailboxSettings] = Field(default_factory=dict)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    invoicing: InvoicingSettings = Field(default_factory=InvoicingSettings)
    passive: PassiveSettings = Field(default_factory=PassiveSettings)
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    bot: BotSettings = Field(default_factory=BotSettings)

    @model_validator(mode="after")
    def _no_half_configuration(self) -> Settings:
        # Real mode talks to SdI for real: it must be fully configured, and never mixed with
        # the sandbox (a real PEC account beside the sandbox would send real tax documents).
        real_pec = [a for a, c in self.channels.items() if c.kind == "pec"]
        if self.sandbox.enabled and (real_pec or self.mailboxes):
            raise ValueError(
                "sandbox.enabled is true but real PEC channels or mailboxes are configured: "
                "set [sandbox] enabled = false for real mode, or remove them"
            )
        receives = bool(self.mailboxes) or self.lmtp.enabled
        if not self.sandbox.enabled and real_pec and not receives:
            # Sending to SdI with no way to receive its answers and the PEC receipts would
            # lose track of every invoice. (Receiving only is fine.)
            raise ValueError(
                "half-configured real mode: a [channels.<alias>] of kind 'pec' sends to SdI, "
                "so a [mailboxes.<alias>] (or the [lmtp] ingress) must receive its answers"
            )
        return self

    def database_url(self) -> str:
        """Return the SQLAlchemy URL, with the password filled in from its secret."""
        if self.database.url is None:
            return f"sqlite+aiosqlite:///{self.daemon.data_dir / 'pecora.db'}"
        if self.database.password is None:
            return self.database.url
        from sqlalchemy.engine import make_url

        url = make_url(self.database.url).set(password=self.database.password.resolve())
        return url.render_as_string(hide_password=False)

    @property
    def archive_dir(self) -> Path:
        """Where the filesystem archive lives."""
        return self.daemon.data_dir / "archive"


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}: {key}: {msg}")
    return "\n".join(lines)


def parse_settings(data: dict[str, Any], *, source: str = "<defaults>") -> Settings:
    """Validate a decoded TOML mapping into `Settings`."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def load_settings(path: Path | None) -> Settings:
    """Load ``path`` (or ``$PECORA_CONFIG``), or the embedded defaults when neither is given."""
    if path is None and (env := os.environ.get("PECORA_CONFIG")):
        path = Path(env)
    if path is None:
        return parse_settings({})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(data, source=str(path))
