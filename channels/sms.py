"""SMS provider adapter, in the shape shared by Sinch, 46elks and the Italian resellers.

``POST /sms`` with ``to``, ``text``, ``from`` and our ``reference`` answers ``{id, status}``;
delivery reports (DLR) come as JSON, one or a batch, with ``id``, ``reference``, ``status``
(``queued``, ``sent``, ``delivered``, ``failed``, ``undelivered``) and ``timestamp``;
``GET /sms/{id}`` returns the current status.
"""

from __future__ import annotations

import json
from typing import Any

from channels.http_provider import HttpProviderChannel, StatusEvent

STATES = {
    "queued": "submitted",
    "sent": "accepted",
    "delivered": "delivered",
    "failed": "failed",
    "undelivered": "failed",
    "expired": "failed",
}


def _event(doc: dict[str, Any]) -> StatusEvent | None:
    state = STATES.get(str(doc.get("status", "")).lower())
    if state is None:
        return None
    return StatusEvent(
        doc.get("id"), doc.get("reference"), state, str(doc.get("timestamp", "")), json.dumps(doc)
    )


class SmsChannel(HttpProviderChannel):
    """Sends SMS through an HTTP provider."""

    submit_path = "/sms"

    def status_path(self, provider_ref: str) -> str:
        """See `HttpProviderChannel.status_path`."""
        return f"/sms/{provider_ref}"

    def parse_status(self, provider_ref: str, data: Any) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_status`."""
        return [e for e in (_event(d) for d in data.get("events", [data])) if e]

    def parse_callback(self, body: bytes) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_callback`. Reports may come batched."""
        data = json.loads(body)
        docs = data if isinstance(data, list) else [data]
        return [e for e in (_event(d) for d in docs) if e]
