"""HTTP provider adapters (SMS, fax, registered mail): submit with an idempotency key, read
delivery reports from signed webhooks or by polling.

Outcome mapping (chatops doc B.4): 2xx submitted; 429 and 5xx retry (429 passes its
``Retry-After`` to the runner as ``retry-after=N`` in the detail); other 4xx failed; no
connection or a timeout raises `ChannelUnavailable` with what was done, so the rest stays
queued. The outbox item's fixed ``message_id`` is the idempotency key: a resubmission after a
crash is recognised by the provider and answered with the first submission's id.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.base import ChannelUnavailable, Delivery, Outgoing

SIGNATURE_HEADER = "X-Pecora-Signature"
SIGNATURE_TOLERANCE = 300.0  # seconds; older signed reports are replays


def sign(secret: str, body: bytes, *, now: float | None = None) -> str:
    """The signature header value for ``body``: ``t=<unix>,v1=<hex HMAC-SHA256(t.body)>``."""
    t = str(int(now if now is not None else time.time()))
    mac = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None) -> bool:
    """Tell whether ``header`` signs ``body`` with ``secret`` recently enough."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, mac = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs((now or time.time()) - int(t)) > SIGNATURE_TOLERANCE:
        return False
    want = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, mac)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One provider report, in our vocabulary (a delivery state name)."""

    provider_ref: str | None
    reference: str | None  # our idempotency key, when the provider echoes it
    status: str  # submitted | accepted | delivered | failed | failed-temporary
    occurred_at: str  # ISO 8601 as the provider gave it
    raw: str


class HttpProviderChannel(abc.ABC):
    """Base of the HTTP adapters: one aiohttp session, concurrent-safe, sequential per batch."""

    concurrent = True
    submit_path = "/"

    def __init__(
        self,
        alias: str,
        *,
        base_url: str,
        api_key: str | None = None,
        sender: str | None = None,
        timeout: float = 30,
        rate: Any = None,
    ) -> None:
        self.alias = alias
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.sender = sender
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.rate = rate
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never show the key
        return f"<{type(self).__name__} {self.alias} {self.base_url}>"

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def open(self) -> None:
        """See `Channel.open`."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """See `Channel.close`."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`."""
        await self.open()
        out: list[Delivery] = []
        for item in batch:
            try:
                out.append(await self._submit_one(item))
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise ChannelUnavailable(f"{self.alias}: {exc or type(exc).__name__}", out) from exc
        return out

    async def _request(
        self, method: str, path: str, *, key: str | None = None, body: Any = None
    ) -> tuple[int, Any, Mapping[str, str]]:
        assert self._session is not None
        async with self._session.request(
            method, self.base_url + path, json=body, headers=self._headers(key)
        ) as resp:
            text = await resp.text()
            try:
                data = json.loads(text) if text else None
            except ValueError:
                data = {"raw": text[:500]}
            return resp.status, data, resp.headers

    async def _submit_one(self, item: Outgoing) -> Delivery:
        key = item.message_id or f"outbox-{item.outbox_id}"
        doc = json.loads(item.payload)
        status, data, headers = await self._request("POST", self.submit_path, key=key, body=doc)
        if outcome := _failure(item.outbox_id, status, data, headers):
            return outcome
        ref = self.provider_id(data)
        confirm = await self.after_submit(item, ref, data)
        if confirm is not None:
            return confirm
        return Delivery(item.outbox_id, "sent", provider_ref=ref, detail=f"{status} {ref}")

    def provider_id(self, data: Any) -> str:
        """The provider's id of a submission, read from its answer."""
        return str(data["id"])

    async def after_submit(self, item: Outgoing, ref: str, data: Any) -> Delivery | None:
        """A second step some providers need (registered mail: confirm). None: all done."""
        return None

    async def poll(self, provider_ref: str) -> list[StatusEvent]:
        """Ask the provider about one submission (the fallback when webhooks do not come)."""
        await self.open()
        try:
            status, data, _ = await self._request("GET", self.status_path(provider_ref))
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ChannelUnavailable(f"{self.alias}: {exc}") from exc
        if status != 200:
            return []
        return self.parse_status(provider_ref, data)

    @abc.abstractmethod
    def status_path(self, provider_ref: str) -> str:
        """Where the status of a submission is read."""

    @abc.abstractmethod
    def parse_status(self, provider_ref: str, data: Any) -> list[StatusEvent]:
        """Events from a polling answer."""

    @abc.abstractmethod
    def parse_callback(self, body: bytes) -> list[StatusEvent]:
        """Events from a webhook body (signature already checked by the receiver)."""


def _failure(outbox_id: int, status: int, data: Any, headers: Mapping[str, str]) -> Delivery | None:
    if 200 <= status < 300:
        return None
    detail = f"{status} {json.dumps(data)[:300] if data is not None else ''}".strip()
    if status == 429:
        after = headers.get("Retry-After", "")
        if after.replace(".", "", 1).isdigit():
            detail += f" retry-after={after}"
        return Delivery(outbox_id, "retry", detail=detail)
    if status >= 500 or status == 408:
        return Delivery(outbox_id, "retry", detail=detail)
    return Delivery(outbox_id, "failed", detail=detail)
