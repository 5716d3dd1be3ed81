"""Registered mail (raccomandata) adapter, in the shape of Openapi.it UfficioPostale.

Two steps (chatops doc B.4): ``POST /raccomandate/`` with ``mittente``, ``destinatari``,
``documento`` and ``opzioni`` (``autoconfirm`` off) answers ``{data: [{id, stato}]}``; then
``PATCH /raccomandate/{id}`` with ``{"confermato": true}`` confirms it and returns the
``NumeroRaccomandata``. Both are idempotent under our key, so a crash between them is
repaired by the retry. Tracking: callbacks ``{data: {id, riferimento, evento: {timestamp,
descrizione, tipo, definitivo}}}`` and ``GET /tracking/{id}`` listing the events; the return
receipt (AR) is the ``ricevuta-ritorno`` event.
"""

from __future__ import annotations

import json
from typing import Any

from channels.base import Delivery, Outgoing
from channels.http_provider import HttpProviderChannel, StatusEvent, _failure

# Tracking event type -> delivery state (vocabulary after PagoPA SEND's analog-mail codes).
TYPES = {
    "confermata": "accepted",
    "stampata": "accepted",  # CON080 "Stampato ed imbustato"
    "in-consegna": "accepted",
    "consegnata": "delivered",
    "ricevuta-ritorno": "delivered",
    "giacenza": "accepted",
    "restituita": "failed",
    "mancato-recapito": "failed",
}


def _event(ref: str | None, reference: str | None, ev: dict[str, Any]) -> StatusEvent | None:
    state = TYPES.get(str(ev.get("tipo", "")))
    if state is None:
        return None
    return StatusEvent(ref, reference, state, str(ev.get("timestamp", "")), json.dumps(ev))


class RegisteredMailChannel(HttpProviderChannel):
    """Sends a PDF as a raccomandata with return receipt through an online postal service."""

    submit_path = "/raccomandate/"

    def provider_id(self, data: Any) -> str:
        """See `HttpProviderChannel.provider_id`."""
        return str(data["data"][0]["id"])

    async def after_submit(self, item: Outgoing, ref: str, data: Any) -> Delivery | None:
        """Confirm the letter (autoconfirm is off so the price is checked first)."""
        if data["data"][0].get("stato") == "CONFERMATA":
            return None  # a resubmission of a letter confirmed before the crash
        key = (item.message_id or "") + ":confirm"
        status, answer, headers = await self._request(
            "PATCH", f"/raccomandate/{ref}", key=key, body={"confermato": True}
        )
        return _failure(item.outbox_id, status, answer, headers)

    def status_path(self, provider_ref: str) -> str:
        """See `HttpProviderChannel.status_path`."""
        return f"/tracking/{provider_ref}"

    def parse_status(self, provider_ref: str, data: Any) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_status`."""
        return [e for e in (_event(provider_ref, None, ev) for ev in data["data"]) if e]

    def parse_callback(self, body: bytes) -> list[StatusEvent]:
        """See `HttpProviderChannel.parse_callback`."""
        data = json.loads(body)["data"]
        event = _event(data.get("id"), data.get("riferimento"), data.get("evento", {}))
        return [event] if event else []
