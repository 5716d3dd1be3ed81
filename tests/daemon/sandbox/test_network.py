"""Loopback ports for the sandbox's stand-ins: distinct, and never one the configuration names."""

from __future__ import annotations

import socket
from pathlib import Path

from daemon.config import Settings
from daemon.sandbox.messaging import SandboxMessaging
from daemon.sandbox.network import free_ports


def test_ports_are_distinct_and_avoid_the_named_ones() -> None:
    first = free_ports("127.0.0.1", 1)[0]
    ports = free_ports("127.0.0.1", 50, avoid={first})
    assert len(set(ports)) == 50 and first not in ports
    for port in ports:  # and they were given back
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_stand_ins_never_take_a_configured_port(tmp_path: Path) -> None:
    # Ports the configuration names are not bound yet when the stand-ins pick theirs, so the
    # kernel may offer them: a stand-in then took the sandbox SMTP port (a CI failure).
    taken = set(free_ports("127.0.0.1", 3))
    lmtp, smtp, metrics = sorted(taken)
    settings = Settings.model_validate({
        "daemon": {"data_dir": str(tmp_path)}, "lmtp": {"port": lmtp},
        "sandbox": {"smtp_port": smtp}, "metrics": {"port": metrics}})
    for _ in range(20):
        messaging = SandboxMessaging.create(settings)
        picked = [*messaging.ports.values(), messaging.webhook_port]
        assert len(set(picked)) == len(picked)
        assert not taken & set(picked)
