"""A sandbox world beside a real-mode daemon, over real sockets, for passive invoicing tests.

`serve` does not expose the in-process sandbox world, so the test builds its own
`SandboxWorld`: its user mailbox delivers to the daemon's LMTP port, and the daemon's ``pec``
channel submits to the world's SMTP port (real-mode configuration, ``[sandbox]`` disabled).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from daemon.sandbox import sdi_post as build
from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import LmtpMailbox, Mailbox, MemoryMailbox
from daemon.sandbox.sdi_state import FileRecord, FileState
from daemon.sandbox.world import SandboxWorld
from handlers.formats.fatturapa import FatturaElettronica, write
from handlers.formats.filenames import build_invoice_file_name
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.pec import parse_pec
from handlers.formats.sdi import parse_sdi_message
from handlers.formats.sdi_build import file_hash
from handlers.formats.sdi_types import SdiFlow, SdiMessage
from handlers.passive.ec_mail import DecisionMailer
from handlers.sdi_mail import read_sdi_delivery
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState
from store.models_passive import ReceivedFile, ReceivedInvoice
from store.passive import DecisionPolicy
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.net import free_port

USER = "fatture@pec.sandbox.test"
SUPPLIER = "fornitore@pec.sandbox.test"
PASSWORD_ENV = "PECORA_TEST_PASSIVE_PEC_PASSWORD"
POLICY = DecisionPolicy(mailer=DecisionMailer(), deciders=frozenset({"anna"}))


@dataclass
class HoldingMailbox:
    """Delivers to ``inner`` except what ``hold`` selects, kept until `release`."""

    inner: Mailbox
    hold: Callable[[bytes], bool] = lambda raw: False
    held: list[bytes] = field(default_factory=list)

    async def deliver(self, raw: bytes) -> None:
        if self.hold(raw):
            self.held.append(raw)
            return
        await self.inner.deliver(raw)

    async def release(self) -> None:
        held, self.held = self.held, []
        self.hold = lambda raw: False
        for raw in held:
            await self.inner.deliver(raw)


@dataclass
class Passive:
    """The running pair: the world, the daemon's store, the supplier's mailbox."""

    world: SandboxWorld
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    mailbox: HoldingMailbox
    supplier_box: MemoryMailbox

    async def items(self) -> list[InboxItem]:
        async with self.sessions() as s:
            return list((await s.execute(select(InboxItem).order_by(InboxItem.id))).scalars())

    async def settled(self, count: int, timeout: float = 20) -> list[InboxItem]:
        async def done() -> list[InboxItem] | None:
            items = await self.items()
            final = [i for i in items if i.state is not InboxState.QUEUED
                     and i.state is not InboxState.CLAIMED]
            return items if len(final) >= count and len(final) == len(items) else None

        result: list[InboxItem] = await wait_for(done, timeout=timeout)
        return result

    async def invoices(self) -> list[ReceivedInvoice]:
        async with self.sessions() as s:
            return list((await s.execute(
                select(ReceivedInvoice).order_by(ReceivedInvoice.id))).scalars())

    async def files(self) -> list[ReceivedFile]:
        async with self.sessions() as s:
            return list((await s.execute(select(ReceivedFile).order_by(ReceivedFile.id))).scalars())

    async def deliver(self, invoice: FatturaElettronica, *, signed: bool = False,
                      transform: Callable[[bytes], bytes] = lambda b: b, times: int = 1,
                      name: str | None = None) -> FileRecord:
        """Like `SimulatedSupplier.deliver`, with the file bytes transformed (base64,
        tampering) and optionally delivered ``times`` times by SdI."""
        world, supplier = self.world, self.world.supplier
        now = world.clock.now()
        xml = write(invoice)
        content = sign_cades_bes(xml, supplier.signer, signing_time=now) if signed else xml
        content = transform(content)
        seller = invoice.header.cedente_prestatore.dati_anagrafici.id_fiscale_iva
        self._n = getattr(self, "_n", 100) + 1
        name = name or build_invoice_file_name(seller.id_paese, seller.id_codice, self._n,
                                               ".xml.p7m" if signed else ".xml")
        pa = invoice.versione == "FPA12"
        record = FileRecord(
            world.sdi.memory.new_ident(), name, supplier.transmitter,
            SdiFlow.PA if pa else SdiFlow.B2B, now, recipient=USER,
            codice=invoice.header.dati_trasmissione.codice_destinatario,
            formato=invoice.versione, file_hash=file_hash(content))
        post = world.sdi.post
        files = [post.file(record, build.mt(record, post.message_id())),
                 build.invoice_file(record, content)]
        record.delivered_at = now
        if pa:
            record.state = FileState.AWAITING
            record.terms_until = now + dt.timedelta(days=15)
        else:
            record.state = FileState.DELIVERED
        world.sdi.adopt(record, content)
        for _ in range(times):
            await post.mail(files, USER, sdi_address=supplier.sdi_address)
        return record

    async def supplier_notices(self, count: int, timeout: float = 20) -> list[SdiMessage]:
        async def enough() -> list[SdiMessage] | None:
            out = []
            for raw in self.supplier_box.messages:
                delivery = read_sdi_delivery(parse_pec(raw))
                if delivery is not None and delivery.notification is not None:
                    out.append(parse_sdi_message(delivery.notification.content))
            return out if len(out) >= count else None

        result: list[SdiMessage] = await wait_for(enough, timeout=timeout)
        return result


@contextlib.asynccontextmanager
async def passive_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, clock_factor: float = 3600,
    hold: Callable[[bytes], bool] = lambda raw: False, **sections: Any,
) -> AsyncIterator[Passive]:
    """Start the world (SMTP on a free port) and a daemon wired to it; yield `Passive`."""
    monkeypatch.setenv(PASSWORD_ENV, "sandbox-secret")
    smtp_port = free_port()
    settings = daemon_settings(
        tmp_path,
        sandbox={"enabled": False},
        channels={"pec": {"kind": "pec", "port": smtp_port, "security": "plain",
                          "username": USER, "password": {"env": PASSWORD_ENV},
                          "sender": USER, "timeout": 30,
                          "rate": {"max_concurrency": 1},
                          "retry": {"backoff_seconds": [0.5]}}},
        mailboxes={"pec": {"host": "127.0.0.1", "port": free_port(), "username": USER,
                           "password": {"env": PASSWORD_ENV}, "enabled": False}},
        **sections,
    )
    mailbox = HoldingMailbox(LmtpMailbox("127.0.0.1", settings.lmtp.port, USER), hold)
    world = SandboxWorld.create(user_mailbox=mailbox, user_password="sandbox-secret",
                                user_address=USER, clock=FastClock(clock_factor),
                                state_dir=tmp_path / "sandbox")
    supplier_box = MemoryMailbox()
    world.provider.add_account(SUPPLIER, "", supplier_box)
    stop, started = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(world.serve("127.0.0.1", smtp_port, stop, started))
    await asyncio.wait_for(started.wait(), 10)
    engine = create_engine(settings.database_url())
    try:
        async with running(settings):
            yield Passive(world, session_factory(engine), engine, mailbox, supplier_box)
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
        await engine.dispose()


def lot_of(factory: Any, n: int, **kw: Any) -> FatturaElettronica:
    """A lot of ``n`` bodies numbered 1..n (``factory`` = the fatturapa test factory)."""
    return factory.invoice(*(factory.body(numero=str(i)) for i in range(1, n + 1)), **kw)


def replace_numero(invoice: FatturaElettronica, numero: str) -> FatturaElettronica:
    """The same invoice with another Numero in its single body."""
    body = invoice.bodies[0]
    dg = dataclasses.replace(body.dati_generali.dati_generali_documento, numero=numero)
    gen = dataclasses.replace(body.dati_generali, dati_generali_documento=dg)
    return dataclasses.replace(invoice, bodies=(dataclasses.replace(body, dati_generali=gen),))
