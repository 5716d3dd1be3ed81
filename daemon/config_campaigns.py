"""Settings of mass messaging: the ``[campaigns]`` section (issue 8).

Campaigns name channels by what they are (``pec``, ``email``, ``sms``, ``fax``,
``registered-mail``); `CampaignSettings.aliases` maps those to configured outbox channel
aliases, defaulting to the first configured channel of the matching kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

CAMPAIGN_CHANNELS = ("pec", "email", "sms", "fax", "registered-mail")
# Which channel kinds (daemon/config.py) can carry each campaign channel.
KINDS = {
    "pec": ("pec",),
    "email": ("smtp", "memory"),
    "sms": ("sms",),
    "fax": ("fax",),
    "registered-mail": ("registered-mail",),
}


class _ChannelKind(Protocol):
    kind: str


class CampaignSettings(BaseModel):
    """The fan-out runner, the delivery-report receiver and the poller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    channels: dict[str, str] = Field(default_factory=dict)  # campaign channel -> outbox alias
    page_size: int = Field(500, ge=1, le=10000)  # members read per fan-out step
    max_open: int = Field(5000, ge=1)  # deliveries queued in the outbox at once, per campaign
    poll_seconds: float = Field(0.5, gt=0)
    error_threshold: int = Field(50, ge=1)  # default of new campaigns (auto-pause)
    webhook_enabled: bool = True
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(8089, ge=0, le=65535)
    report_poll_after_seconds: float = Field(600, gt=0)  # poll a quiet delivery after this
    report_poll_every_seconds: float = Field(60, gt=0)
    alert_channel: str | None = None  # outbox alias for breaker alerts (an e-mail channel)
    alert_sender: str | None = None
    alert_to: list[str] = Field(default_factory=list)
    unsubscribe: str | None = None  # List-Unsubscribe target, e.g. "mailto:albo@ordine.it"

    def aliases(self, configured: Mapping[str, _ChannelKind]) -> dict[str, str]:
        """Campaign channel -> outbox alias, explicit entries first, then by kind."""
        out: dict[str, str] = {}
        for name in CAMPAIGN_CHANNELS:
            if name in self.channels:
                out[name] = self.channels[name]
                continue
            for alias, cfg in configured.items():
                if cfg.kind in KINDS[name]:
                    out[name] = alias
                    break
        return out


def from_mapping(data: Mapping[str, Any] | None) -> CampaignSettings:
    """Validate a decoded ``[campaigns]`` table."""
    return CampaignSettings.model_validate(dict(data or {}))
