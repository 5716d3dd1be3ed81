"""A throw-away Dovecot for protocol tests: started once per session, one mail user per test.

The server is the project's own ``scripts/services/start-dovecot.sh`` on free loopback ports,
with its state under a short ``/tmp`` directory (Dovecot's unix sockets must fit in 108 bytes).
It is stopped by PID at the end. Tests stay independent without resetting anything: each one
takes a fresh user from a pool created at start (`mail_user`).

Without ``dovecot`` installed the tests skip with the reason; under ``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aioimaplib
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_SCRIPT = ROOT / "scripts" / "services" / "start-dovecot.sh"
POOL_SIZE = 80  # users created at start; one per test that asks for `mail_user`


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class MailUser:
    """One Dovecot account reserved for one test."""

    name: str
    password: str


@dataclass
class Dovecot:
    """A running Dovecot and helpers to act on it from tests."""

    dir: Path
    imap_port: int
    imaps_port: int
    lmtp_port: int
    users: list[MailUser]
    pid: int = 0
    _next_user: Iterator[int] = field(default_factory=itertools.count)

    @property
    def conf(self) -> Path:
        return self.dir / "dovecot.conf"

    @property
    def cert(self) -> Path:
        """The self-signed certificate (CN localhost, SAN 127.0.0.1) to trust in tests."""
        return self.dir / "tls" / "cert.pem"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        env = dict(os.environ, DOVECOT_USERS=" ".join(f"{u.name}:{u.password}" for u in self.users))
        args = [str(self.dir), str(self.imap_port), str(self.imaps_port), str(self.lmtp_port)]
        # Output goes to a file, not a pipe: the daemonized master inherits the script's
        # stdout, and a pipe would never reach EOF while Dovecot runs.
        out = self.dir.parent / f"{self.dir.name}.start.log"
        with out.open("wb") as log_file:
            proc = subprocess.run(
                ["bash", str(START_SCRIPT), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"dovecot did not start:\n{out.read_text()}")
        self.pid = int((self.dir / "run" / "master.pid").read_text().strip())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the master and its children by PID, and wait until they are gone.

        Dovecot's master leaves running client processes behind when it exits (an IDLE
        session would survive a "restart"), so the children are stopped as well, by the PIDs
        read from /proc before the master goes.
        """
        if not self.pid:
            return
        pids = [self.pid, *_children(self.pid)]
        self.pid = 0
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for pid in pids:
            while _alive(pid):
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.02)

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- accounts and mail -----------------------------------------------------------------

    def new_user(self) -> MailUser:
        index = next(self._next_user)
        if index >= len(self.users):
            raise RuntimeError(f"more than {len(self.users)} tests asked for a Dovecot user")
        return self.users[index]

    def doveadm(self, *args: str, data: bytes | None = None) -> str:
        """Run ``doveadm -c CONF ARGS`` and return its output (raise on failure)."""
        proc = subprocess.run(
            ["doveadm", "-c", str(self.conf), *args],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc.stdout.decode()

    def save(self, user: MailUser, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver ``raw`` with ``doveadm save`` (works while the server is stopped, too)."""
        self.doveadm("save", "-u", user.name, "-m", folder, data=raw)

    def drop_into_maildir(self, user: MailUser, raw: bytes) -> None:
        """Deliver ``raw`` as an MDA would, straight into ``Maildir/new`` of the INBOX.

        Works while Dovecot is stopped (``doveadm save`` needs its auth socket); Dovecot
        assigns the UID when it next looks at the folder.
        """
        maildir = self.dir / "mail" / user.name / "Maildir"
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.P{os.getpid()}.pecora-test"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(raw)
        owner = shutil.chown
        for path in (maildir, maildir / "tmp", maildir / "new", maildir / "cur", tmp):
            owner(path, "nobody", "nogroup")
        tmp.rename(maildir / "new" / name)

    async def append(self, user: MailUser, raw: bytes, folder: str = "INBOX") -> None:
        """APPEND ``raw`` over IMAP, as a remote sender's server would deliver it."""
        client = aioimaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login(user.name, user.password)).result == "OK"
        response = await client.append(raw, mailbox=folder)
        assert response.result == "OK", response
        await client.logout()

    def create_folder(self, user: MailUser, folder: str) -> None:
        self.doveadm("mailbox", "create", "-u", user.name, folder)

    def recreate_folder(self, user: MailUser, folder: str) -> None:
        """Delete ``folder`` with its messages and create it again: a new UIDVALIDITY."""
        self.doveadm("mailbox", "delete", "-u", user.name, folder)
        self.create_folder(user, folder)

    def set_uidvalidity(self, user: MailUser, folder: str, value: int) -> None:
        """Change UIDVALIDITY in place (messages and UIDs stay): an admin's index rebuild."""
        self.doveadm("mailbox", "update", "-u", user.name, "--uid-validity", str(value), folder)

    def uidvalidity(self, user: MailUser, folder: str = "INBOX") -> int:
        out = self.doveadm(
            "-f", "flow", "mailbox", "status", "-u", user.name, "uidvalidity", folder
        )
        return int(out.split("uidvalidity=")[1].split()[0])

    def flags(self, user: MailUser, folder: str = "INBOX") -> dict[int, set[str]]:
        """Return UID -> flags of every message in ``folder``."""
        out = self.doveadm("-f", "tab", "fetch", "-u", user.name, "uid flags", "mailbox", folder)
        result: dict[int, set[str]] = {}
        for line in out.splitlines()[1:]:
            uid, _, flags = line.partition("\t")
            if uid.strip():
                result[int(uid)] = set(flags.split())
        return result

    def count(self, user: MailUser, folder: str = "INBOX") -> int:
        return len(self.flags(user, folder))


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc: no process-name matching)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _require_dovecot() -> None:
    if shutil.which("dovecot") and shutil.which("doveadm"):
        return
    reason = "dovecot is not installed (apt-get install -y dovecot-imapd dovecot-lmtpd)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " and CI=true: the IMAP protocol tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot for the whole test session, stopped by PID at the end."""
    _require_dovecot()
    state = Path(tempfile.mkdtemp(prefix="pdv", dir="/tmp"))  # short: socket path limit
    users = [MailUser(f"t{i:02d}", f"pw-t{i:02d}") for i in range(POOL_SIZE)]
    server = Dovecot(state, free_port(), free_port(), free_port(), users)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
        (state.parent / f"{state.name}.start.log").unlink(missing_ok=True)


@pytest.fixture
def mail_user(dovecot: Dovecot) -> MailUser:
    """A Dovecot account no other test touches."""
    return dovecot.new_user()
