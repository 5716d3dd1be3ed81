"""Deciding in worker processes: the same verdicts as in a thread, and a decoder crash contained."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from daemon.config_passive import PassiveSettings, passive_facts
from daemon.deciding import ProcessDecider, ThreadDecider, Verdict
from handlers.formats.pec_build import PecProvider
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.work import Disposition, Work
from tests.support import deciding
from tests.support.sdi_envelopes import envelopes

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
_SOGEI_CA, _SOGEI_SIGNER = make_sandbox_pki("Sogei (decider test)")
SUPPLIER_CA, SUPPLIER_SIGNER = make_sandbox_pki("Fornitore (decider test)")
SOGEI = PecProvider("Sogei (decider test)", "pcert.sogei.decider.test", _SOGEI_SIGNER)
FACTS = passive_facts(PassiveSettings(), extra_anchors=(SUPPLIER_CA,))


def _work(n: int, raw: bytes) -> Work:
    return Work(n, raw, NOW, "lmtp")


def _mail(body: bytes) -> bytes:
    return b"From: a@b.test\r\nTo: c@d.test\r\nSubject: x\r\n\r\n" + body + b"\r\n"


@pytest.fixture
async def pool() -> AsyncIterator[ProcessDecider]:
    decider = ProcessDecider(FACTS, max_bytes=1 << 20, workers=2,
                             target=deciding.crash_on_marker)
    yield decider
    await decider.close()


async def test_same_verdicts_as_in_a_thread(pool: ProcessDecider) -> None:
    works = [_work(n, raw) for n, raw in enumerate([
        *envelopes(3, SUPPLIER_SIGNER, SOGEI, user="fatture@pec.decider.test"),
        _mail(b"not for pecora"),
        b"\x00\x01 not mail at all",
    ])]
    in_processes = await pool.decide(works)
    in_thread = await ThreadDecider(FACTS, max_bytes=1 << 20).decide(works)
    assert in_processes == in_thread
    assert [v.outcome.route for v in in_processes if v.outcome] == [
        "sdi-invoice", "sdi-invoice", "sdi-invoice", "unknown", "unreadable"]
    assert in_processes[0].outcome is not None
    assert in_processes[0].outcome.disposition is Disposition.DONE  # signature verified there


async def test_a_worker_killed_by_an_item_shunts_that_item_only(pool: ProcessDecider) -> None:
    works = [_work(1, _mail(b"one")), _work(2, _mail(deciding.KILLER)), _work(3, _mail(b"three"))]
    first, killer, third = await pool.decide(works)
    assert first.outcome is not None and third.outcome is not None
    assert killer.outcome is None
    assert killer.error is not None and "died twice on this item" in killer.error
    # and the decider goes on with fresh workers; none of the broken pools' is left behind
    assert (await pool.decide([_work(4, _mail(b"four"))]))[0].outcome is not None
    assert len(multiprocessing.active_children()) <= 2


async def test_a_handler_bug_and_an_unsendable_outcome_are_verdicts(pool: ProcessDecider) -> None:
    bug, unsendable, fine = await pool.decide([_work(1, _mail(deciding.BUG)),
                                               _work(2, _mail(deciding.UNSENDABLE)),
                                               _work(3, _mail(b"ok"))])
    assert bug.error == "RuntimeError: a bug in a handler"
    assert bug.traceback is not None and "crash_on_marker" in bug.traceback
    assert unsendable.outcome is None and unsendable.error is not None
    assert fine.outcome is not None


async def test_workers_ignore_sigterm_the_daemon_stops_them(pool: ProcessDecider) -> None:
    pids = {int(v.outcome.reason) for v in await _pids(pool) if v.outcome}
    for pid in pids:
        os.kill(pid, signal.SIGTERM)  # systemd signals the whole unit on stop
    await asyncio.sleep(0.3)
    assert all(_alive(pid) for pid in pids)
    assert all(v.outcome for v in await _pids(pool))  # the pool was not broken
    pids |= {int(v.outcome.reason) for v in await _pids(pool) if v.outcome}
    await pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def _pids(pool: ProcessDecider) -> list[Verdict]:
    pool._target = deciding.worker_pid
    return await pool.decide([_work(n, b"x") for n in range(4)])


@pytest.mark.parametrize("when", ["after-a-verdict", "while-the-worker-starts"])
def test_workers_leave_when_the_daemon_is_killed(tmp_path: Path, when: str) -> None:
    script = tmp_path / "victim.py"
    script.write_text(
        "import asyncio, datetime as dt, multiprocessing, os, signal, sys\n"
        "from daemon.deciding import ProcessDecider\n"
        "from handlers.work import Work\n"
        "from tests.support.deciding import worker_pid\n"
        "async def main() -> None:\n"
        "    d = ProcessDecider((), max_bytes=100, workers=1, target=worker_pid)\n"
        "    task = asyncio.create_task(d.decide([Work(1, b'x', dt.datetime.now(dt.UTC), 'l')]))\n"
        "    if sys.argv[1] == 'after-a-verdict':\n"
        "        await task\n"
        "    else:\n"
        "        await asyncio.sleep(0.01)  # spawned, still importing\n"
        "    print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n")
    done = subprocess.run([sys.executable, str(script), when], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == -signal.SIGKILL
    workers = [int(pid) for pid in done.stdout.split()]
    assert workers
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "an orphaned decide worker stayed"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (init here) has to reap it


async def test_start_has_every_worker_up_before_the_first_item(pool: ProcessDecider) -> None:
    await pool.start()
    assert len(multiprocessing.active_children()) == 2
    pids = {int(v.outcome.reason) for v in await _pids(pool) if v.outcome}
    assert pids <= {p.pid for p in multiprocessing.active_children()}  # no new one needed


async def test_workers_that_cannot_start_leave_deciding_to_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unpicklable = (*FACTS, lambda: None)  # a fact no worker can be given
    decider = ProcessDecider(unpicklable, max_bytes=1 << 20, workers=1)
    try:
        [verdict] = await decider.decide([_work(1, _mail(b"hello"))])
    finally:
        await decider.close()
    assert verdict.outcome is not None and verdict.outcome.route == "unknown"
    assert "decide workers could not start: deciding in a thread instead" in caplog.text
    assert multiprocessing.active_children() == []
