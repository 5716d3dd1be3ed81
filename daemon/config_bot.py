"""``[bot]`` settings: the Telegram bot, its chats, the support desk's hours and SLA targets.

The bot is off unless a token is configured. The token is a `SecretRef` (never in the TOML).
Desk hours default to Mon-Fri 09:00-13:00 and 14:00-18:00 Europe/Rome; Italian public
holidays come from the ``holidays`` package, ``closures`` add company closing days and
``open_days`` take a day back.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Literal

from pydantic import Field, model_validator

from daemon.config_base import SecretRef, _is_loopback, _Model


class SlaTarget(_Model):
    """One priority's targets, in desk minutes."""

    first_response_minutes: int = Field(ge=1)
    resolution_minutes: int = Field(ge=1)


def _default_sla() -> dict[str, SlaTarget]:
    hours = {"urgent": (30, 480), "high": (120, 960), "normal": (240, 2400), "low": (480, 4800)}
    return {
        p: SlaTarget(first_response_minutes=fr, resolution_minutes=res)
        for p, (fr, res) in hours.items()
    }


class DeskSettings(_Model):
    """The support desk."""

    timezone: str = "Europe/Rome"
    # weekday (0 = Monday) -> ["09:00-13:00", "14:00-18:00"]
    hours: dict[int, list[str]] = Field(
        default_factory=lambda: {d: ["09:00-13:00", "14:00-18:00"] for d in range(5)}
    )
    closures: list[date] = Field(default_factory=list)
    open_days: list[date] = Field(default_factory=list)
    subdivision: str | None = None  # a province code adds its patron saint (e.g. "RM")
    sla: dict[str, SlaTarget] = Field(default_factory=_default_sla)
    warn_before_minutes: int = Field(30, ge=1)
    support_address: str | None = None  # mail to it becomes a ticket
    support_mailbox: str | None = None  # an IMAP alias that receives only support mail
    mail_channel: str | None = None  # outbox channel alias for mail to requesters

    @model_validator(mode="after")
    def _check(self) -> DeskSettings:
        self.intervals()  # parse now: a bad time is a startup error naming the key
        missing = {"low", "normal", "high", "urgent"} - set(self.sla)
        if missing:
            raise ValueError(f"sla: targets missing for {', '.join(sorted(missing))}")
        if self.support_address and not self.mail_channel:
            raise ValueError("support_address needs mail_channel (to answer by e-mail)")
        return self

    def intervals(self) -> dict[int, tuple[tuple[time, time], ...]]:
        """Return the desk hours as (start, end) times per weekday."""
        out = {}
        for day, spans in self.hours.items():
            if not 0 <= day <= 6:
                raise ValueError(f"hours: weekday {day} is not 0..6")
            parsed = []
            for span in spans:
                start, _, end = span.partition("-")
                a, b = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
                if b <= a:
                    raise ValueError(f"hours: {span!r} ends before it starts")
                parsed.append((a, b))
            out[day] = tuple(sorted(parsed))
        return out

    @property
    def warn_before(self) -> timedelta:
        """How early to warn before a breach."""
        return timedelta(minutes=self.warn_before_minutes)


class BotSettings(_Model):
    """The Telegram bot (``[bot]``)."""

    token: SecretRef | None = None  # no token: no bot
    mode: Literal["polling", "webhook"] = "polling"
    base_url: str = "https://api.telegram.org/bot"  # tests point this at a loopback fake
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: float = Field(30, gt=0, le=50)
    webhook_url: str | None = None
    webhook_secret: SecretRef | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    approvers_chat_id: int | None = None
    staff_chat_id: int | None = None
    alerts_chat_id: int | None = None
    max_retries: int = Field(3, ge=1)
    token_ttl_days: float = Field(14, gt=0)
    sla_check_seconds: float = Field(60, gt=0)
    # How often the bot's feed looks for new tickets events, supplier invoices and outcomes:
    # two indexed queries a pass, and it bounds the envelope-to-prompt latency (p95 < 2 s).
    feed_seconds: float = Field(0.5, gt=0, le=60)
    desk: DeskSettings = Field(default_factory=DeskSettings)

    @model_validator(mode="after")
    def _check(self) -> BotSettings:
        if self.base_url.endswith("/"):
            # PTB builds f"{base_url}{token}/{method}": a trailing slash gives 404, reported
            # by PTB as a misleading InvalidToken (chatops-and-messaging.md §C.4).
            raise ValueError("base_url must not end with '/'")
        if self.mode == "webhook":
            if not (self.webhook_url and self.webhook_secret):
                raise ValueError("mode 'webhook' needs webhook_url and webhook_secret")
            if not self.webhook_url.startswith("https://"):
                raise ValueError("webhook_url must be https:// (Telegram calls HTTPS only)")
            if not _is_loopback(self.webhook_host):
                raise ValueError("webhook_host must be loopback (put an HTTPS proxy in front)")
        return self

    @property
    def enabled(self) -> bool:
        """The bot runs only with a token."""
        return self.token is not None
