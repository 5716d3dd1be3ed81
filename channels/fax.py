"""Fax provider adapter, in the shape of Telnyx Programmable Fax.

``POST /v2/faxes`` with ``to``, ``from``, the PDF and ``client_state`` (our reference) answers
``{data: {id, status}}``. Webhooks carry ``{data: {event_type, occurred_at, payload: {fax_id,
client_state}}}`` with ``fax.queued``, ``fax.media.processed``, ``fax.sending.started``,
``fax.delivered`` and ``fax.failed``; ``GET /v2/faxes/{id}`` returns the fax and its status.
"""

from __future__ import annotations

import json
from typing import Any

from channels.http_provider import HttpProviderChannel, StatusEvent

EVENTS = {
    "fax.queued": "submitted",
    "fax.media.processed": "accepted",
    "fax.sending.started": "accepted",
    "fax.delivered": "delivered",
    "fax.failed": "failed",
}
STATUSES = {"queued": "submitted", "sending": "accepted", "delivered": "delivered"}
STATUSES["failed"] = "failed"


class FaxChannel(HttpProviderChannel):
    """Sends a PDF by fax through an HTTP provider."""

    submit_path = "/v2/faxes"

    def provider_id(self, data: Any) -> str:
        """See `HttpProviderChannel.provider_id`."""
        return str(data["data"]["id"])

    def status_path(self, provider_ref: str) -> str:
        """See `HttpProviderChannel.status_path`."""
        return f"/v2/faxes/{provider_ref}"

    def parse_status(self, provider_ref: str, data: Any) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_status`."""
        fax = data["data"]
        state = STATUSES.get(fax.get("status", ""))
        if state is None:
            return []
        at = str(fax.get("updated_at", ""))
        return [StatusEvent(provider_ref, fax.get("client_state"), state, at, json.dumps(data))]

    def parse_callback(self, body: bytes) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_callback`."""
        data = json.loads(body)["data"]
        state = EVENTS.get(data.get("event_type", ""))
        if state is None:
            return []
        payload = data.get("payload", {})
        return [
            StatusEvent(
                payload.get("fax_id"),
                payload.get("client_state"),
                state,
                str(data.get("occurred_at", "")),
                body.decode(errors="replace"),
            )
        ]
