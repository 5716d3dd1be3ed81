"""A simulated supplier: incoming invoices delivered to the configured recipient as SdI does.

A real supplier's invoice reaches its buyer from SdI: one PEC message from ``sdiNN`` with the
invoice file (plain ``.xml``, or ``.xml.p7m`` signed CAdES-BES) and its MT, ``Invio File
<IdentificativoSdI>`` (domain.md §3.3, §4.1). This actor builds exactly that — the invoice
written by pecora's `fatturapa.write` (a lot when it has several bodies), optionally signed
with a sandbox key (`p7m.sign_cades_bes`), the MT from `sdi_post.mt` — and mails it through
the `PecNetwork` from the SdI address. With a `SandboxSdi` the file is also entered in SdI's
memory, so a PA recipient's EC is judged and a DT comes 15 days later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from daemon.sandbox import sdi_post as build
from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import PecNetwork
from daemon.sandbox.sdi import DEFAULT_ADDRESS, SandboxSdi
from daemon.sandbox.sdi_state import FileRecord, FileState, SdiMemory
from handlers.formats.fatturapa import FatturaElettronica, write
from handlers.formats.filenames import build_invoice_file_name
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.sdi_build import file_hash
from handlers.formats.sdi_types import SdiFlow
from handlers.formats.sig_common import Signer

__all__ = ["SimulatedSupplier", "SupplierDelivery"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SupplierDelivery:
    """One delivered file: its name, SdI's id, the bytes as delivered."""

    name: str
    identificativo_sdi: str
    content: bytes


class SimulatedSupplier:
    """Delivers invoices from one seller to ``recipient`` (a PEC address on the network).

    ``signer`` signs the p7m variant; ``sdi``, when given, provides identifiers, the
    announced address and the memory (EC/DT for PA recipients).
    """

    def __init__(self, network: PecNetwork, clock: FastClock, *, recipient: str,
                 sdi: SandboxSdi | None = None, signer: Signer | None = None,
                 sdi_address: str | None = None, transmitter: str = "fornitore@pec.sandbox.test"
                 ) -> None:
        self.network = network
        self.clock = clock
        self.recipient = recipient
        self.sdi = sdi
        self.signer = signer
        self.transmitter = transmitter
        self.sdi_address = sdi_address or (sdi.address_for(recipient) if sdi else DEFAULT_ADDRESS)
        self._memory = sdi.memory if sdi is not None else SdiMemory(next_ident=900_000_001)
        self._progressive = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def _name(self, invoice: FatturaElettronica, signed: bool) -> str:
        # The seller names its files; a fresh progressive each time (00002 is forever, §2).
        self._progressive += 1
        seller = invoice.header.cedente_prestatore.dati_anagrafici.id_fiscale_iva
        return build_invoice_file_name(seller.id_paese, seller.id_codice, self._progressive,
                                       ".xml.p7m" if signed else ".xml")

    async def deliver(self, invoice: FatturaElettronica, *, signed: bool = False
                      ) -> SupplierDelivery:
        """Write (and sign) ``invoice`` and deliver it with its MT to the recipient."""
        if signed and self.signer is None:
            raise ValueError("a signed (p7m) delivery needs the supplier's signer")
        now = self.clock.now()
        xml = write(invoice)
        content = sign_cades_bes(xml, self.signer, signing_time=now) \
            if signed and self.signer is not None else xml
        name = self._name(invoice, signed)
        trasmissione = invoice.header.dati_trasmissione
        pa = invoice.versione == "FPA12"
        record = FileRecord(
            self._memory.new_ident(), name, self.transmitter, SdiFlow.PA if pa else SdiFlow.B2B,
            now, recipient=self.recipient, codice=trasmissione.codice_destinatario,
            formato=invoice.versione, file_hash=file_hash(content))
        post = self.sdi.post if self.sdi is not None else \
            build.SdiPost(self.network, self.clock, None, self._memory)
        files = [post.file(record, build.mt(record, post.message_id())),
                 build.invoice_file(record, content)]
        record.delivered_at = now
        if pa:  # the EC window opens at delivery (§3.3)
            record.state = FileState.AWAITING
            record.terms_until = now + dt.timedelta(days=15)
        else:
            record.state = FileState.DELIVERED
        if self.sdi is not None:
            self.sdi.adopt(record, content)
        await post.mail(files, self.recipient, sdi_address=self.sdi_address)
        log.info("sandbox supplier: %s delivered to %s", name, self.recipient)
        return SupplierDelivery(name, record.ident, content)

    def deliver_every(self, interval: float, make: Callable[[int], FatturaElettronica], *,
                      count: int | None = None, signed: bool = False) -> None:
        """Deliver ``make(n)`` every ``interval`` simulated seconds (``count`` times, or until
        `close`), from a tracked task."""
        async def run() -> None:
            n = 0
            while count is None or n < count:
                await self.clock.sleep(interval)
                n += 1
                await self.deliver(make(n), signed=signed)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox supplier: deliveries stopped", exc_info=task.exception())

    async def close(self) -> None:
        """Cancel the periodic deliveries and wait for them to stop."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

