"""Helpers for active-invoicing tests: an address book, invoices created and sent through the
real use-cases, and the in-process sandbox world of a running daemon (to set its faults)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon import invoicing
from daemon.config_invoicing import InvoicingSettings
from daemon.sandbox_mode import SandboxRuntime
from handlers.active.draft import from_mapping
from store import invoices, parties
from store.archive import Archive
from store.clock import utcnow
from store.models_active import Invoice
from store.models_parties import PartyKind, PartyRole

USER = "fatture@pec.sandbox.test"
SELLER = {
    "denominazione": "Pecora Servizi Srl", "id_paese": "IT", "id_codice": "01234567890",
    "regime_fiscale": "RF01", "indirizzo": "Via Roma 1", "cap": "00184", "comune": "Roma",
    "provincia": "RM", "nazione": "IT",
}
ADDRESS = {"indirizzo": "Piazza Garibaldi 3", "cap": "20121", "comune": "Milano",
           "provincia": "MI", "nazione": "IT"}


async def seed_parties(session: AsyncSession) -> None:
    """Our seller profile ``me`` (the only one) and no customers yet."""
    await parties.upsert(session, "me", role=PartyRole.SELLER, kind=PartyKind.B2B,
                         fields=SELLER, now=utcnow())


async def customer(session: AsyncSession, code: str, *, pec: str | None = None) -> str:
    """A customer reached by ``code`` (6 chars: a PA) and return its key."""
    pa = len(code) == 6
    kind = PartyKind.PA if pa else (PartyKind.B2C if code == "0000000" and not pec
                                    else PartyKind.B2B)
    fields: dict[str, Any] = {**ADDRESS, "codice_destinatario": code, "pec_destinatario": pec}
    if pa:
        fields.update(denominazione=f"Ufficio {code}", codice_fiscale="80012345678")
    elif kind is PartyKind.B2C:
        fields.update(nome="Mario", cognome="Rossi", codice_fiscale="RSSMRA80A01H501U")
    else:
        fields.update(denominazione=f"Cliente {code} Spa", id_paese="IT",
                      id_codice="09876543210")
    key = f"c-{code.lower()}" + (f"-{pec}" if pec else "")
    await parties.upsert(session, key, role=PartyRole.CUSTOMER, kind=kind, fields=fields,
                         now=utcnow())
    return key


def draft(key: str, **extra: Any) -> Any:
    """A one-line invoice for customer ``key``."""
    return from_mapping({
        "customer": key,
        "lines": [{"description": "Consulenza", "quantity": "2", "unit_price": "100.00",
                   "vat": "22"}],
        **extra,
    })


async def create_and_send(
    sessions: async_sessionmaker[AsyncSession], archive: Archive, cfg: InvoicingSettings,
    key: str, *, sender: str = USER, official: Any = None, **extra: Any,
) -> Invoice:
    """Create an invoice for ``key`` and queue its file (one transaction each)."""
    async with sessions() as s, s.begin():
        invoice = await invoicing.create_invoice(s, draft(key, **extra), cfg=cfg, now=utcnow())
        invoice_id = invoice.id
    async with sessions() as s, s.begin():
        ctx = invoicing.SendContext(cfg, invoicing.load_signer(cfg, sandbox=True), archive,
                                    sender, official)
        await invoicing.send_invoice(s, invoice_id, ctx, now=utcnow())
    async with sessions() as s:
        found = await invoices.get(s, invoice_id)
        assert found is not None
        return found


@contextmanager
def capture_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SandboxRuntime]]:
    """Keep a handle on the sandbox world `pecora run` builds (to set provider faults)."""
    import daemon.main

    built: list[SandboxRuntime] = []
    original = daemon.main.build_sandbox

    def build(settings: Any) -> SandboxRuntime:
        runtime = original(settings)
        built.append(runtime)
        return runtime

    monkeypatch.setattr(daemon.main, "build_sandbox", build)
    yield built
