"""A throw-away Ceph RADOS Gateway (real S3 with Object Lock) for the archive tests.

Started once per test session by the project's ``scripts/services/start-s3-rgw.sh`` on free
loopback ports, with its state under a short ``/tmp`` directory, and stopped by PID at the end
(the memstore OSD keeps objects in RAM, so nothing is left behind). Each test gets its own
bucket (`rgw_bucket`), so tests never see each other's objects.

Without the Ceph binaries the tests skip with the reason; under ``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_SCRIPT = ROOT / "scripts" / "services" / "start-s3-rgw.sh"
BINARIES = (
    "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph-authtool", "ceph"
)
INSTALL = "apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common"
ACCESS_KEY, SECRET_KEY = "pecora-test", "pecora-test-secret"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_mon_port() -> int:
    """A mon port whose next 100 ports (the OSD's messenger range) are free too.

    Taken below Linux's ephemeral range (32768+), where outgoing connections — the ``ceph``
    CLI's own among them — could grab a port of the range while the cluster starts.
    """
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000 - 101)
        if all(_port_free(p) for p in range(base, base + 101)):
            return base
    raise RuntimeError("no free port range for ceph-mon/ceph-osd on 127.0.0.1")


@dataclass
class Rgw:
    """A running RGW: its endpoint, keys and the PIDs to stop."""

    dir: Path
    port: int
    mon_port: int
    pids: list[int] = field(default_factory=list)
    _buckets: Iterator[int] = field(default_factory=itertools.count)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, S3_ACCESS_KEY=ACCESS_KEY, S3_SECRET_KEY=SECRET_KEY,
                   MEMSTORE_BYTES=str(1 << 30))
        out = self.dir.parent / f"{self.dir.name}.start.log"
        with out.open("wb") as log_file:  # a file, not a pipe: the daemons inherit stdout
            proc = subprocess.run(
                ["bash", str(START_SCRIPT), str(self.dir), str(self.port), str(self.mon_port)],
                env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                timeout=120, check=False,
            )
        run = self.dir / "run"
        for name in ("client.rgw.a", "osd.0", "mon.a"):
            with contextlib.suppress(OSError, ValueError):
                self.pids.append(int((run / f"{name}.pid").read_text().strip()))
        if proc.returncode != 0:
            self.stop()
            mkfs = self.dir / "log" / "osd-mkfs.log"
            detail = mkfs.read_text()[-2000:] if mkfs.exists() else ""
            raise RuntimeError(f"radosgw did not start:\n{out.read_text()}\n{detail}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each PID (rgw, osd, mon), wait, then SIGKILL what is left."""
        pids, self.pids = self.pids, []
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
                time.sleep(0.05)

    def new_bucket_name(self) -> str:
        return f"pecora-test-{next(self._buckets):04d}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child is gone for our purposes
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _require_ceph() -> None:
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if not missing:
        return
    reason = f"Ceph is not installed ({', '.join(missing)} missing): {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " and CI=true: the S3 Object Lock tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def rgw() -> Iterator[Rgw]:
    """A Ceph RGW for the whole session, stopped by PID at the end."""
    _require_ceph()
    state = Path(tempfile.mkdtemp(prefix="prgw", dir="/tmp"))  # short: admin socket paths
    server = Rgw(state, _free_port(), _free_mon_port())
    try:
        try:
            server.start()
        except RuntimeError:  # one retry on other ports: a port race is not a test failure
            server = Rgw(state, _free_port(), _free_mon_port())
            server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
        (state.parent / f"{state.name}.start.log").unlink(missing_ok=True)
