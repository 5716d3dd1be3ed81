"""Real PEC mail against seeded invoices: the Aruba receipts and Sogei's SdI envelopes in
../shared/ref/pec land on the invoice whose file name / Message-ID they name, in the right
state, through the running daemon's LMTP ingress, pipelines and appliers."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from store import invoices, outbox, parties
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models_active import InvoiceState
from store.models_parties import PartyKind, PartyRole
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.invoicing import ADDRESS, SELLER
from tests.support.lmtp import deliver
from tests.support.ref import ref_bytes

ARUBA_MSGID = (
    "<1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out"
    "@elbati-Vostro-3550>"
)


async def _seed(s: AsyncSession, file_name: str, message_id: str, *, n: int) -> int:
    now = utcnow()
    seller = await parties.upsert(s, f"seller{n}", role=PartyRole.SELLER, kind=PartyKind.B2B,
                                  fields=SELLER, now=now)
    cust = await parties.upsert(s, f"cust{n}", role=PartyRole.CUSTOMER, kind=PartyKind.B2B,
                                fields={**ADDRESS, "denominazione": "X", "id_paese": "IT",
                                        "id_codice": "09876543210",
                                        "codice_destinatario": "ABC1234"}, now=now)
    inv = await invoices.create(s, invoices.NewInvoice(
        seller_id=seller.id, customer_id=cust.id, register="", year=2018, number=n,
        numero=str(n), tipo_documento="TD01", data=date(2018, 11, 13), formato="FPR12",
        pa=False, total="1.22", description={}, lines=[]), now=now)
    box = await outbox.enqueue(s, outbox.NewOutgoing(
        channel="pec", payload=b"x", recipients=("sdi01@pec.fatturapa.it",),
        idempotency_key=f"invoice-file:{file_name}", message_id=message_id), now=now)
    await invoices.add_transmission(s, inv, invoices.NewTransmission(
        file_name=file_name, signature="none", sha256="0" * 64, size=1, outbox_id=box,
        message_id=message_id, sdi_address="sdi01@pec.fatturapa.it"), now=now)
    return inv.id


async def test_real_receipts_and_sdi_envelopes_land_on_their_invoices(tmp_path: Path) -> None:
    settings = daemon_settings(tmp_path)
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                aruba = await _seed(s, "IT03339130126_00009.xml", ARUBA_MSGID, n=1)
                mc = await _seed(s, "IT14627831002_02621.xml", "<other@pecora.test>", n=2)
            for name in ("accettazione_IT03339130126_00009.eml",
                         "avvenuta-consegna_IT03339130126_00009.eml",
                         "sdi_RC_ricevuta-di-consegna_6782414.eml",
                         "sdi_MC_mancata-consegna_141107829.eml"):
                await asyncio.to_thread(deliver, settings.lmtp.port, ref_bytes("pec", name),
                                        ["fatture@pec.test"])

            async def kinds() -> dict[int, list[str]] | None:
                async with sessions() as s:
                    out = {i: [e.kind for e in await invoices.history(s, i)] for i in (aruba, mc)}
                return out if len(out[aruba]) >= 5 and len(out[mc]) >= 3 else None

            seen = await wait_for(kinds, timeout=20)
        async with sessions() as s:
            first, second = await invoices.get(s, aruba), await invoices.get(s, mc)
            txs = await invoices.transmissions(s, aruba)
    finally:
        await engine.dispose()
    assert first is not None and second is not None
    assert seen[aruba][2:] == ["accettazione", "avvenuta-consegna", "RC"]
    assert first.state is InvoiceState.DELIVERED
    assert txs[0].identificativo_sdi == "6782414"
    assert "MC" in seen[mc]
    assert second.state is InvoiceState.NOT_DELIVERED_AVAILABLE  # a B2B MC: issued
