"""Sandbox mode, the embedded default: run the sandbox in-process and point pecora at it.

The sandbox PEC provider delivers the user's mail to pecora's own LMTP ingress, and pecora's
``pec`` channel submits to the sandbox over SMTP with a password made up for this run: the same
paths as real mode, with SdI and the PEC providers simulated on loopback. Campaign channels the
configuration leaves out (e-mail, SMS, fax, registered mail) get local stand-ins
(`daemon.sandbox.messaging`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from channels.pec import PecChannel
from daemon.config import Settings
from daemon.sandbox.clock import FastClock
from daemon.sandbox.elsewhere import MaildirMailbox
from daemon.sandbox.messaging import SandboxMessaging
from daemon.sandbox.network import LmtpMailbox
from daemon.sandbox.scenarios import DEFAULT_SCENARIOS, load_scenarios
from daemon.sandbox.world import SandboxWorld

log = logging.getLogger(__name__)

BANNER = (
    "SANDBOX MODE: SdI and the PEC providers are simulated on loopback; nothing leaves this "
    "machine and nothing sent here has any fiscal value"
)


@dataclass
class SandboxRuntime:
    """The in-process sandbox, the channel pecora sends PEC through, and the stand-ins of the
    campaign channels the configuration leaves out."""

    world: SandboxWorld
    channel: PecChannel
    messaging: SandboxMessaging


# Who wants the runtime `build_sandbox` makes: `pecora demo` drives the in-process world (its
# supplier, extra PEC accounts) of the daemon it runs. A context variable, not a global: only
# the task that set it (and the tasks it creates, e.g. `serve`) see it.
_observer: ContextVar[Callable[[SandboxRuntime], None] | None] = ContextVar(
    "sandbox_observer", default=None
)


@contextmanager
def observe_sandbox(callback: Callable[[SandboxRuntime], None]) -> Iterator[None]:
    """Call ``callback`` with every runtime `build_sandbox` builds in this context (and in the
    tasks created inside the block), before anything listens."""
    token = _observer.set(callback)
    try:
        yield
    finally:
        _observer.reset(token)


def build_sandbox(settings: Settings) -> SandboxRuntime:
    """Create the sandbox world and pecora's ``pec`` channel to it (nothing listens yet)."""
    cfg = settings.sandbox
    if not settings.lmtp.enabled:
        raise ValueError("sandbox mode delivers to pecora's LMTP ingress: enable [lmtp]")
    password = secrets.token_urlsafe(18)
    scenarios = load_scenarios(cfg.scenarios) if cfg.scenarios else DEFAULT_SCENARIOS
    world = SandboxWorld.create(
        user_mailbox=LmtpMailbox(settings.lmtp.host, settings.lmtp.port, cfg.user_address),
        user_password=password,
        user_address=cfg.user_address,
        clock=FastClock(cfg.clock_factor),
        scenarios=scenarios,
        state_dir=settings.daemon.data_dir / "sandbox",
        # PEC to the rest of the world (a real Albo's addresses) is kept on disk, delivered
        elsewhere=MaildirMailbox(settings.daemon.data_dir / "sandbox" / "pec-elsewhere"),
    )
    channel = PecChannel(
        "pec",
        host=cfg.host,
        port=cfg.smtp_port,
        security="plain",  # loopback only (validated), like a local submission
        username=cfg.user_address,
        password=password,
        sender=cfg.user_address,
        timeout=30,
    )
    runtime = SandboxRuntime(world, channel, SandboxMessaging.create(settings))
    if (observer := _observer.get()) is not None:
        observer(runtime)
    return runtime
