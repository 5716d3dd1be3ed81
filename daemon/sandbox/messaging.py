"""Sandbox stand-ins for the campaign channels that have no configuration (issue 8 §6).

With no configuration, a new user must be able to import an Albo and send a campaign over every
channel without any account, and nothing may leave the machine. So in sandbox mode, for each of
e-mail, SMS, fax and registered mail that no ``[channels.*]`` entry serves, this module starts
a local stand-in on loopback and adds the channel that reaches it:

* e-mail: an SMTP server (aiosmtpd) that keeps every message in the Maildir
  ``<data_dir>/sandbox/mail`` (open it with any mail reader), channel ``sandbox-mail``;
* SMS, fax, registered mail: the fake providers the tests use (``channels.fakes``), channels
  ``sandbox-sms``, ``sandbox-fax``, ``sandbox-registered-mail``; their delivery reports come
  back signed to the daemon's own webhook receiver, like a real provider's.

PEC campaigns go through the sandbox PEC provider (the ``pec`` channel `build_sandbox` makes).
The webhook secret is made up per run and kept in a file only the daemon reads (settings take
secrets by reference). Ports are free loopback ports picked at startup (logged), unless the
webhook port is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import BaseModel

from channels.fakes.base import FakeProvider
from channels.fakes.providers import FakeFax, FakeRegisteredMail, FakeSms
from daemon.config import ChannelSettings, Settings
from daemon.config_base import SecretRef
from daemon.config_campaigns import KINDS
from daemon.sandbox.elsewhere import MaildirMailbox
from daemon.sandbox.network import free_ports

log = logging.getLogger(__name__)

#: campaign channel -> (alias of the stand-in's channel, channel kind, fake provider class)
_PROVIDERS: dict[str, tuple[str, str, type[FakeProvider]]] = {
    "sms": ("sandbox-sms", "sms", FakeSms),
    "fax": ("sandbox-fax", "fax", FakeFax),
    "registered-mail": ("sandbox-registered-mail", "registered-mail", FakeRegisteredMail),
}
MAIL_ALIAS = "sandbox-mail"


def stand_in_aliases(settings: Settings, pec_alias: str = "pec") -> dict[str, str]:
    """Campaign channel -> the stand-in's channel alias, for each channel sandbox mode serves
    with a stand-in (none outside sandbox mode). The CLI's preview and dry run use it to plan
    exactly as the daemon will send."""
    if not settings.sandbox.enabled:
        return {}
    kinds = {c.kind for c in settings.channels.values()}
    out = {"pec": pec_alias}
    if not kinds & set(KINDS["email"]):
        out["email"] = MAIL_ALIAS
    for name, (alias, kind, _) in _PROVIDERS.items():
        if kind not in kinds:
            out[name] = alias
    return out


class _MaildirSink:
    """aiosmtpd handler: each message is kept in a Maildir (written off the event loop)."""

    def __init__(self, path: Path) -> None:
        self.box = MaildirMailbox(path)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self.box.deliver(envelope.original_content or b"")
        return "250 2.0.0 kept in the sandbox mailbox (nothing leaves this machine)"


def _named_ports(value: object) -> Iterator[int]:
    """Every port the settings name (any ``*port`` field, at any depth)."""
    items = value.model_dump() if isinstance(value, BaseModel) else value
    if isinstance(items, dict):
        for key, item in items.items():
            if str(key).endswith("port") and isinstance(item, int) and item > 0:
                yield item
            else:
                yield from _named_ports(item)
    elif isinstance(items, list | tuple):
        for item in items:
            yield from _named_ports(item)


@dataclass
class SandboxMessaging:
    """The stand-ins of one run, and how pecora's settings reach them."""

    host: str
    mail_dir: Path | None  # None: e-mail has a configured channel
    secret_file: Path
    webhook_port: int  # of the daemon's delivery-report receiver
    providers: dict[str, FakeProvider] = field(default_factory=dict)  # alias -> fake
    ports: dict[str, int] = field(default_factory=dict)  # alias -> port

    @classmethod
    def create(cls, settings: Settings) -> SandboxMessaging:
        """Decide what is missing from ``settings`` and prepare its stand-ins (nothing runs)."""
        host = settings.sandbox.host
        wanted = stand_in_aliases(settings)  # campaign channel -> stand-in alias
        base = settings.daemon.data_dir / "sandbox"
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_urlsafe(24)
        secret_file = base / "webhook-secret"
        secret_file.touch(mode=0o600)
        secret_file.write_text(secret, encoding="utf-8")
        cfg = settings.campaigns
        # All picked at once, none that the configuration names: see `free_ports`.
        ports = iter(free_ports(host, len(wanted) + 1, avoid=set(_named_ports(settings))))
        port = cfg.webhook_port if "webhook_port" in cfg.model_fields_set else next(ports)
        webhook = f"http://{cfg.webhook_host}:{port}/webhooks"
        mail_dir = base / "mail" if "email" in wanted else None
        out = cls(host, mail_dir, secret_file, port)
        if mail_dir is not None:
            out.ports[MAIL_ALIAS] = next(ports)
        for name, (alias, kind, fake) in _PROVIDERS.items():
            if name not in wanted:
                continue
            callback = f"{webhook}/{alias}" if cfg.enabled and cfg.webhook_enabled else None
            out.providers[alias] = fake(webhook_secret=secret, callback_url=callback)
            out.ports[alias] = next(ports)
            log.debug("sandbox %s provider for campaign channel %s", kind, name)
        return out

    def apply(self, settings: Settings, pec_alias: str) -> Settings:
        """``settings`` with the stand-ins' channels, the webhook port they report to, and the
        sandbox PEC channel as the campaigns' PEC channel unless one is configured."""
        channels = dict(settings.channels)
        secret = SecretRef(file=self.secret_file)
        http: dict[str, Any] = {"webhook_secret": secret, "timeout": 10}
        if self.mail_dir is not None:
            channels[MAIL_ALIAS] = ChannelSettings(
                kind="smtp", host=self.host, port=self.ports[MAIL_ALIAS], security="plain",
                sender=settings.sandbox.user_address, timeout=10)
        for alias, kind, _ in _PROVIDERS.values():
            if alias in self.providers:
                channels[alias] = ChannelSettings.model_validate(
                    {"kind": kind, "base_url": f"http://{self.host}:{self.ports[alias]}", **http})
        cfg = settings.campaigns
        aliases = dict(cfg.channels)
        aliases.setdefault("pec", pec_alias)
        campaigns = cfg.model_copy(update={"channels": aliases,
                                           "webhook_port": self.webhook_port})
        return settings.model_copy(update={"channels": channels, "campaigns": campaigns})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve every stand-in for the duration of the block."""
        async with contextlib.AsyncExitStack() as stack:
            if self.mail_dir is not None:
                sink = _MaildirSink(self.mail_dir)
                loop = asyncio.get_running_loop()
                server = await loop.create_server(
                    lambda: SMTP(sink, hostname="mail.sandbox.test"), self.host,
                    self.ports[MAIL_ALIAS])
                stack.callback(server.close)
                log.info("sandbox e-mail: SMTP on %s:%d, messages kept in %s", self.host,
                         self.ports[MAIL_ALIAS], self.mail_dir)
            for alias, fake in self.providers.items():
                url = await stack.enter_async_context(fake.running(self.host, self.ports[alias]))
                log.info("sandbox %s provider on %s", alias.removeprefix("sandbox-"), url)
            yield

    async def serve(self, stop: asyncio.Event, up: asyncio.Event) -> None:
        """Serve until ``stop`` (a task of the daemon's TaskGroup); set ``up`` once listening."""
        async with self.running():
            up.set()
            await stop.wait()
