"""The three fakes: `FakeSms` (DLR shape), `FakeFax` (Telnyx shape) and `FakeRegisteredMail`
(UfficioPostale shape, with confirmation and tracking including the return receipt)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.fakes.base import FakeProvider, Submission


class FakeSms(FakeProvider):
    """An SMS provider: ``POST /sms``, DLRs, ``GET /sms/{id}``."""

    prefix = "sms"

    def routes(self, app: web.Application) -> None:
        """See `FakeProvider.routes`."""
        app.router.add_post("/sms", self.submit)
        app.router.add_get("/sms/{id}", self.status)

    def answer(self, sub: Submission) -> dict[str, Any]:
        """See `FakeProvider.answer`."""
        return {"id": sub.id, "status": "queued"}

    def lifecycle(self, sub: Submission, fate: str) -> list[dict[str, Any]]:
        """See `FakeProvider.lifecycle`."""
        ref = sub.doc.get("reference")
        steps = ["queued", "sent", "delivered" if fate == "delivered" else "undelivered"]
        return [
            {"id": sub.id, "reference": ref, "status": s, "timestamp": self.now()}
            for n, s in enumerate(steps)
        ]

    async def status(self, request: web.Request) -> web.Response:
        """Polling: the submission with all its events so far."""
        sub = self.by_id.get(request.match_info["id"])
        if sub is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"id": sub.id, "events": sub.reports})


class FakeFax(FakeProvider):
    """A fax provider: ``POST /v2/faxes``, ``fax.*`` webhooks, ``GET /v2/faxes/{id}``."""

    prefix = "fax"

    def routes(self, app: web.Application) -> None:
        """See `FakeProvider.routes`."""
        app.router.add_post("/v2/faxes", self.submit)
        app.router.add_get("/v2/faxes/{id}", self.status)

    def answer(self, sub: Submission) -> dict[str, Any]:
        """See `FakeProvider.answer`."""
        return {"data": {"id": sub.id, "status": "queued", "to": sub.doc.get("to")}}

    def lifecycle(self, sub: Submission, fate: str) -> list[dict[str, Any]]:
        """See `FakeProvider.lifecycle`."""
        steps = ["fax.queued", "fax.media.processed", "fax.sending.started"]
        steps.append("fax.delivered" if fate == "delivered" else "fax.failed")
        return [
            {
                "data": {
                    "id": f"{sub.id}-ev{n}",
                    "event_type": s,
                    "occurred_at": self.now(),
                    "payload": {"fax_id": sub.id, "client_state": sub.doc.get("reference")},
                }
            }
            for n, s in enumerate(steps)
        ]

    async def status(self, request: web.Request) -> web.Response:
        """Polling: the fax with its latest status."""
        sub = self.by_id.get(request.match_info["id"])
        if sub is None:
            return web.json_response({"error": "not found"}, status=404)
        last = sub.reports[-1]["data"]["event_type"].split(".")[-1] if sub.reports else "queued"
        data = {"id": sub.id, "status": last, "client_state": sub.doc.get("reference")}
        return web.json_response({"data": {**data, "updated_at": self.now()}})


class FakeRegisteredMail(FakeProvider):
    """An online registered-mail service: submit, confirm, tracking, return receipt."""

    prefix = "rol"

    def routes(self, app: web.Application) -> None:
        """See `FakeProvider.routes`."""
        app.router.add_post("/raccomandate/", self._submit)
        app.router.add_patch("/raccomandate/{id}", self.confirm)
        app.router.add_get("/tracking/{id}", self.tracking)

    async def _submit(self, request: web.Request) -> web.Response:
        return await self.submit(request, status=200)

    @property
    def confirmed(self) -> int:
        """How many letters were confirmed (each is one letter really sent)."""
        return sum(1 for s in self.by_key.values() if s.confirmed)

    def answer(self, sub: Submission) -> dict[str, Any]:
        """See `FakeProvider.answer`."""
        return {"data": [{"id": sub.id, "stato": "NUOVA", "riferimento": sub.doc["reference"]}]}

    def started(self, sub: Submission) -> None:
        """Nothing happens before the confirmation."""

    async def confirm(self, request: web.Request) -> web.Response:
        """``PATCH /raccomandate/{id}``: confirm once; a repeat answers the same."""
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        sub = self.by_id.get(request.match_info["id"])
        if sub is None:
            return web.json_response({"error": "not found"}, status=404)
        if not sub.confirmed:
            sub.confirmed = True
            sub.answer = {"data": [{"id": sub.id, "stato": "CONFERMATA"}]}
            super().started(sub)
        numero = f"RR{int(sub.id.split('-')[1]):010d}IT"
        body = {"data": {"id": sub.id, "stato": "CONFERMATA", "NumeroRaccomandata": numero}}
        return web.json_response(body)

    def lifecycle(self, sub: Submission, fate: str) -> list[dict[str, Any]]:
        """See `FakeProvider.lifecycle`."""
        steps = [("confermata", "Presa in carico"), ("stampata", "Stampato ed imbustato")]
        if fate == "delivered":
            steps += [("consegnata", "Consegnata"), ("ricevuta-ritorno", "AR firmata")]
        else:
            steps += [("restituita", "Restituita al mittente: destinatario sconosciuto")]
        return [
            {
                "data": {
                    "id": sub.id,
                    "riferimento": sub.doc["reference"],
                    "evento": {
                        "timestamp": self.now(),
                        "tipo": tipo,
                        "descrizione": text,
                        "definitivo": n == len(steps) - 1,
                    },
                }
            }
            for n, (tipo, text) in enumerate(steps)
        ]

    async def tracking(self, request: web.Request) -> web.Response:
        """``GET /tracking/{id}``: the events so far."""
        sub = self.by_id.get(request.match_info["id"])
        if sub is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"data": [r["data"]["evento"] for r in sub.reports]})
