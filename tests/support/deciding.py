"""Pipeline targets for decider tests: module-level, so worker processes can import them."""

from __future__ import annotations

import os

from handlers.run import process
from handlers.work import Disposition, Outcome, Work

KILLER = b"KILL-THE-DECODER"
BUG = b"RAISE-IN-A-HANDLER"
UNSENDABLE = b"UNPICKLABLE-OUTCOME"


def crash_on_marker(work: Work, max_bytes: int) -> Outcome:
    """`process`, except that some bytes kill the worker, raise, or give an unsendable outcome."""
    if KILLER in work.raw:
        os._exit(3)  # what a segfault in a C parser looks like from outside
    if BUG in work.raw:
        raise RuntimeError("a bug in a handler")
    if UNSENDABLE in work.raw:
        return Outcome("test", Disposition.DONE, "x", (lambda: None,))  # type: ignore[arg-type]
    return process(work, max_bytes=max_bytes)


def worker_pid(work: Work, max_bytes: int) -> Outcome:
    """The worker's pid, as the outcome's reason."""
    return Outcome("test", Disposition.DONE, str(os.getpid()), ())
