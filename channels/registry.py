"""Build channels from the configuration, by alias (Django's named providers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from channels.base import Channel
from channels.memory import MemoryChannel
from channels.pec import PecChannel
from channels.smtp import SmtpChannel


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


def build_channel(alias: str, cfg: ChannelConfig, password: str | None) -> Channel:
    """Return the channel ``cfg.kind`` names, configured for ``alias``."""
    if cfg.kind == "memory":
        return MemoryChannel(alias)
    cls = {"smtp": SmtpChannel, "pec": PecChannel}.get(cfg.kind)
    if cls is None:
        raise ValueError(f"channel {alias!r}: unknown kind {cfg.kind!r}")
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


def build_channels(
    configs: Mapping[str, ChannelConfig], passwords: Mapping[str, str | None]
) -> dict[str, Channel]:
    """Build every configured channel."""
    return {
        alias: build_channel(alias, cfg, passwords.get(alias)) for alias, cfg in configs.items()
    }
