"""Build channels from the configuration, by alias (Django's named providers).

SMTP and PEC channels with ``rate.max_concurrency`` above 1 become a `ChannelPool` of that
many connections; HTTP provider channels (sms, fax, registered-mail) take concurrent requests
on one session. Either way the alias's ``rate`` travels with the channel to the outbox runner,
which enforces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from channels.base import Channel
from channels.fax import FaxChannel
from channels.http_provider import HttpProviderChannel
from channels.memory import MemoryChannel
from channels.pec import PecChannel
from channels.pool import ChannelPool
from channels.registered_mail import RegisteredMailChannel
from channels.sms import SmsChannel
from channels.smtp import SmtpChannel

HTTP_KINDS: dict[str, type[HttpProviderChannel]] = {
    "sms": SmsChannel,
    "fax": FaxChannel,
    "registered-mail": RegisteredMailChannel,
}


class ChannelConfig(Protocol):
    """The fields of a channel's settings that the registry reads."""

    kind: str
    host: str
    port: int
    security: str
    username: str | None
    sender: str | None
    timeout: float
    verify_tls: bool


def _secret(cfg: Any, name: str) -> str | None:
    ref = getattr(cfg, name, None)
    return ref.resolve() if ref is not None else None


def build_channel(alias: str, cfg: ChannelConfig, password: str | None) -> Channel:
    """Return the channel ``cfg.kind`` names, configured for ``alias``."""
    rate = getattr(cfg, "rate", None)
    if cfg.kind == "memory":
        return MemoryChannel(alias)
    if cfg.kind in HTTP_KINDS:
        base_url = getattr(cfg, "base_url", None)
        if not base_url:
            raise ValueError(f"channel {alias!r}: kind {cfg.kind} needs base_url")
        return HTTP_KINDS[cfg.kind](
            alias,
            base_url=base_url,
            api_key=_secret(cfg, "api_key") or password,
            sender=cfg.sender,
            timeout=cfg.timeout,
            rate=rate,
        )
    cls = {"smtp": SmtpChannel, "pec": PecChannel}.get(cfg.kind)
    if cls is None:
        raise ValueError(f"channel {alias!r}: unknown kind {cfg.kind!r}")

    def one() -> SmtpChannel:
        return cls(
            alias,
            host=cfg.host,
            port=cfg.port,
            security=cfg.security,
            username=cfg.username,
            password=password,
            sender=cfg.sender,
            timeout=cfg.timeout,
            verify_tls=cfg.verify_tls,
            ca_file=getattr(cfg, "ca_file", None),
        )

    lanes = getattr(rate, "max_concurrency", 1) if rate is not None else 1
    if lanes <= 1 and rate is None:
        return one()
    return ChannelPool(alias, [one() for _ in range(max(1, lanes))], rate=rate)


def build_channels(
    configs: Mapping[str, ChannelConfig], passwords: Mapping[str, str | None]
) -> dict[str, Channel]:
    """Build every configured channel."""
    return {
        alias: build_channel(alias, cfg, passwords.get(alias)) for alias, cfg in configs.items()
    }


def webhook_secrets(configs: Mapping[str, Any]) -> dict[str, str]:
    """The resolved ``webhook_secret`` of each HTTP provider channel that has one."""
    return {
        alias: secret
        for alias, cfg in configs.items()
        if cfg.kind in HTTP_KINDS and (secret := _secret(cfg, "webhook_secret"))
    }
