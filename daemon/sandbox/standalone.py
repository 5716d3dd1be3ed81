"""`pecora sandbox`: the sandbox as its own process, for a pecora that runs in real mode against
it (end-to-end tests, a daemon restarted under test, trying pecora with Dovecot).

The user's mail is delivered over LMTP (pecora's ingress, or Dovecot's LMTP) or by IMAP APPEND
into a mailbox pecora watches. The user's PEC password is read from ``$PECORA_SANDBOX_PASSWORD``
(or ``--password-file``), never printed. SdI's memory (every file it received, what it
answered) is kept in ``STATE_DIR/sdi-state.json``, so a test can count what SdI was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import ImapMailbox, LmtpMailbox, Mailbox
from daemon.sandbox.scenarios import DEFAULT_SCENARIOS, load_scenarios
from daemon.sandbox.world import USER_ADDRESS, SandboxWorld

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `pecora sandbox`."""
    p.add_argument("--state-dir", type=Path, required=True, help="SdI memory and CA files")
    p.add_argument("--smtp-port", type=int, default=10587, help="PEC submission port")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--lmtp", metavar="HOST:PORT", help="deliver the user's mail over LMTP")
    where.add_argument("--imap", metavar="HOST:PORT:USER", help="APPEND the user's mail (IMAP)")
    p.add_argument("--imap-password-env", default="PECORA_SANDBOX_IMAP_PASSWORD")
    p.add_argument("--user", default=USER_ADDRESS, help="the pecora user's PEC address")
    p.add_argument("--password-file", type=Path, help="else $PECORA_SANDBOX_PASSWORD")
    p.add_argument("--clock-factor", type=float, default=1.0)
    p.add_argument("--scenarios", type=Path)


def _mailbox(args: argparse.Namespace) -> Mailbox:
    if args.lmtp:
        host, port = args.lmtp.rsplit(":", 1)
        return LmtpMailbox(host, int(port), args.user)
    host, port, user = args.imap.split(":", 2)
    password = os.environ.get(args.imap_password_env)
    if password is None:
        raise SystemExit(f"--imap needs the mailbox password in ${args.imap_password_env}")
    return ImapMailbox(host, int(port), user, password)


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        return str(args.password_file.read_text(encoding="utf-8").strip())
    value = os.environ.get("PECORA_SANDBOX_PASSWORD")
    if not value:
        raise SystemExit("set $PECORA_SANDBOX_PASSWORD or --password-file for the user's password")
    return value


async def run(args: argparse.Namespace, settings: Any = None) -> int:
    """Serve until SIGTERM/SIGINT; write the CA files pecora must trust into the state dir."""
    state: Path = args.state_dir
    world = SandboxWorld.create(
        user_mailbox=_mailbox(args),
        user_password=_password(args),
        user_address=args.user,
        clock=FastClock(args.clock_factor),
        scenarios=load_scenarios(args.scenarios) if args.scenarios else DEFAULT_SCENARIOS,
        state_dir=state,
    )
    (state / "pec-ca.pem").write_bytes(world.trust.pec_ca_pem + world.trust.sogei_ca_pem)
    (state / "sdi-ca.pem").write_bytes(world.trust.sdi_ca_pem)
    stop, started = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = asyncio.ensure_future(world.serve("127.0.0.1", args.smtp_port, stop, started))
    await asyncio.wait(
        {server, asyncio.ensure_future(started.wait())}, return_when=asyncio.FIRST_COMPLETED
    )
    if not server.done():
        log.warning(
            "sandbox serving PEC submission on 127.0.0.1:%d for %s", args.smtp_port, args.user
        )
        (state / "ready").write_text(str(os.getpid()))
    await server
    return 0
