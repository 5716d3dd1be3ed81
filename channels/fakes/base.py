"""`FakeProvider`: an aiohttp app that plays an HTTP messaging provider on loopback.

It honours idempotency keys (a resubmission gets the first answer and is counted as a
duplicate, not as a new submission), answers scripted faults (429 with Retry-After, 5xx, 4xx)
and sends each submission's lifecycle as signed reports to ``callback_url``, optionally late,
twice, in reverse order, or not at all (so polling has to find them). Counters let a test
check "exactly one accepted submission per recipient".
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import json
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from channels.http_provider import SIGNATURE_HEADER, sign


@dataclass
class Submission:
    """One accepted submission and the reports it produced."""

    id: str
    key: str
    doc: dict[str, Any]
    answer: dict[str, Any]
    reports: list[dict[str, Any]] = field(default_factory=list)
    confirmed: bool = False


@dataclass
class Faults:
    """What the fake does wrong, on cue."""

    replies: deque[int] = field(default_factory=deque)  # next submit answers, e.g. 429, 500
    retry_after: float = 0.2
    report_delay: float = 0.0
    duplicate_reports: bool = False
    reverse_reports: bool = False
    drop_reports: bool = False
    fate: Callable[[dict[str, Any]], str] = lambda doc: "delivered"  # or "failed"


class FakeProvider(abc.ABC):
    """Base of the fakes: submission bookkeeping, faults, report delivery, serving."""

    prefix = "fake"

    def __init__(
        self,
        *,
        callback_url: str | None = None,
        webhook_secret: str,
        api_key: str | None = None,
    ) -> None:
        self.callback_url = callback_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.faults = Faults()
        self.by_key: dict[str, Submission] = {}
        self.by_id: dict[str, Submission] = {}
        self.requests: Counter[str] = Counter()  # submit requests per key (duplicates show)
        self.reports_sent = 0
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = web.Application()
        self.routes(self.app)

    # --- what the subclasses define -------------------------------------------------------
    @abc.abstractmethod
    def routes(self, app: web.Application) -> None:
        """Register the provider's endpoints."""

    @abc.abstractmethod
    def answer(self, sub: Submission) -> dict[str, Any]:
        """The body answering a submission."""

    @abc.abstractmethod
    def lifecycle(self, sub: Submission, fate: str) -> list[dict[str, Any]]:
        """The report bodies a submission produces, in their true order."""

    # --- shared machinery -----------------------------------------------------------------
    @property
    def accepted(self) -> int:
        """How many distinct submissions were accepted."""
        return len(self.by_key)

    def duplicates(self) -> dict[str, int]:
        """Keys submitted more than once (each answered with the first submission)."""
        return {k: n for k, n in self.requests.items() if n > 1}

    def _authorised(self, request: web.Request) -> bool:
        return self.api_key is None or request.headers.get("Authorization") == (
            f"Bearer {self.api_key}"
        )

    async def submit(self, request: web.Request, status: int = 202) -> web.Response:
        """Handle a submission: auth, faults, idempotency, then start its lifecycle."""
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return web.json_response({"error": "Idempotency-Key required"}, status=400)
        if self.faults.replies:
            code = self.faults.replies.popleft()
            headers = {"Retry-After": str(self.faults.retry_after)} if code == 429 else {}
            return web.json_response({"error": f"scripted {code}"}, status=code, headers=headers)
        self.requests[key] += 1
        if key in self.by_key:
            return web.json_response(self.by_key[key].answer, status=200)
        doc = await request.json()
        sub_id = f"{self.prefix}-{next(self._ids):06d}"
        sub = Submission(sub_id, key, doc, {})
        sub.answer = self.answer(sub)
        self.by_key[key] = sub
        self.by_id[sub_id] = sub
        self.started(sub)
        return web.json_response(sub.answer, status=status)

    def started(self, sub: Submission) -> None:
        """A submission is live: produce its reports (registered mail waits for confirm)."""
        reports = self.lifecycle(sub, self.faults.fate(sub.doc))
        sub.reports = reports
        if self.callback_url and not self.faults.drop_reports:
            task = asyncio.create_task(self._report(reports))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _report(self, reports: list[dict[str, Any]]) -> None:
        await asyncio.sleep(self.faults.report_delay)
        order = list(reversed(reports)) if self.faults.reverse_reports else list(reports)
        if self.faults.duplicate_reports:
            order = [r for r in order for _ in (0, 1)]
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            for body in order:
                raw = json.dumps(body).encode()
                for attempt in range(20):  # at-least-once, like the real ones
                    headers = {SIGNATURE_HEADER: sign(self.webhook_secret, raw)}
                    headers["Content-Type"] = "application/json"
                    try:
                        assert self.callback_url is not None
                        async with http.post(self.callback_url, data=raw, headers=headers) as r:
                            if r.status < 300:
                                self.reports_sent += 1
                                break
                    except OSError:
                        pass
                    await asyncio.sleep(min(2.0, 0.05 * 2**attempt))

    @staticmethod
    def now() -> str:
        """A provider timestamp."""
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    @contextlib.asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on loopback for the duration of the block; yield the base URL."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield f"http://{host}:{bound}"
        finally:
            for task in list(self._tasks):
                task.cancel()
            await runner.cleanup()

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Serve until ``stop`` (the sandbox runs it in its TaskGroup)."""
        async with self.running(host, port):
            await stop.wait()
