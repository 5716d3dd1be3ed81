"""The simulated SdI: an `Endpoint` owning ``sdi01``/``sdiNN@pec.fatturapa.it`` on loopback.

Anything mailed to the real SdI is a real tax submission (domain.md §4.1), so the sandbox plays
it: it takes the one invoice file (``.xml``, ``.xml.p7m`` or ``.zip``) of each certified
message, runs SdI's checks with pecora's own codecs (`sdi_checks`), and answers as the
`Scenario` for the recipient says (`scenarios`): NS, RC or MC to the transmitter, the invoice +
MT to a sandbox recipient, and for FPA12 the EC window — a simulated PA's EC (or pecora's, as a
recipient) → NE, or SE when inadmissible; no EC for 15 days → DT; a PA MC → AT or RC after 10
days (§3.3). Time runs on the `FastClock`. The first answer to a transmitter announces the
``sdiNN`` address it must use from then on (§4.1). What SdI must remember (names, accepted
invoices, addresses, files) lives in `SdiMemory`. Every timer is a task tracked here and
cancelled by `close`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from daemon.sandbox import sdi_post as build
from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import PecNetwork
from daemon.sandbox.scenarios import AfterMc, Outcome, PaAnswer, Scenario, Scenarios
from daemon.sandbox.sdi_checks import MAX_FILE_BYTES, ZipProblem, check_file, error, open_zip
from daemon.sandbox.sdi_pa import esito_mail, pa_address
from daemon.sandbox.sdi_state import FileRecord, FileState, SdiMemory
from handlers.formats.filenames import (
    InvalidFileName,
    NotificationType,
    parse_invoice_file_name,
    parse_notification_file_name,
)
from handlers.formats.sdi import parse_sdi_message
from handlers.formats.sdi_build import file_hash
from handlers.formats.sdi_types import (
    Errore,
    Esito,
    EsitoCommittente,
    Scarto,
    SdiFlow,
    SdiMessage,
)
from handlers.formats.sig_common import Signer
from handlers.formats.trust import TrustStore

__all__ = ["DEFAULT_ADDRESS", "SDI01", "SandboxSdi"]

log = logging.getLogger(__name__)

#: Where the first file goes (domain.md §4.1).
SDI01 = "sdi01@pec.fatturapa.it"
#: The address the sandbox assigns to transmitters in its first answer.
DEFAULT_ADDRESS = "sdi17@pec.fatturapa.it"
_SDI_ADDRESS = re.compile(r"sdi[0-9]{2}@pec\.fatturapa\.it", re.IGNORECASE)
_INVOICE_SUFFIXES = (".xml", ".p7m", ".zip")


def _stem(name: str) -> str:
    try:
        return parse_invoice_file_name(name).stem
    except InvalidFileName:
        return name


def _notification_type(name: str) -> NotificationType | None:
    try:
        return parse_notification_file_name(name).type
    except InvalidFileName:
        return None


class SandboxSdi:
    """The simulated SdI (see the module docstring). ``signer`` is the sandbox SdI key
    (`make_sandbox_pki`); ``trust`` makes signatures from other CAs fail with 00104."""

    def __init__(self, network: PecNetwork, clock: FastClock, signer: Signer,
                 scenarios: Scenarios, *, state_path: Path | None = None,
                 trust: TrustStore | None = None, address: str = DEFAULT_ADDRESS,
                 simulazione: bool = False) -> None:
        if not _SDI_ADDRESS.fullmatch(address):
            raise ValueError(f"not an SdI address: {address!r}")
        self.network = network
        self.clock = clock
        self.scenarios = scenarios
        self.trust = trust
        self.address = address
        self.memory = SdiMemory.load(state_path)
        self.post = build.SdiPost(network, clock, signer, self.memory, simulazione=simulazione)
        self.misdirected: list[tuple[str, str]] = []  # (transmitter, address used)
        self._contents: dict[str, bytes] = {}  # IdentificativoSdI -> file as received
        self._tasks: set[asyncio.Task[None]] = set()

    # --- Endpoint ---------------------------------------------------------------------------

    def accepts(self, address: str) -> bool:
        """Every ``sdiNN@pec.fatturapa.it``."""
        return _SDI_ADDRESS.fullmatch(address.strip()) is not None

    async def receive(self, address: str, original: bytes, envelope: bytes) -> None:
        """Take one certified message: an invoice file (or zip), or a PA's EC. The checks and
        SdI's memory are updated now, in arrival order; answers go out from tasks."""
        mail = build.read_mail(original, envelope)
        for name, content in mail.attachments:
            if _notification_type(name) is NotificationType.EC:
                self._on_esito(mail, name, content)
                return
        files = [(n, c) for n, c in mail.attachments if n.lower().endswith(_INVOICE_SUFFIXES)]
        if not files:
            log.warning("sandbox SdI: no invoice file in the message from %s", mail.sender)
            return
        if len(files) > 1:  # one file per message (§4.1): SdI processes the first
            log.warning("sandbox SdI: %d files from %s, only %s is processed", len(files),
                        mail.sender, files[0][0])
        expected = self.memory.addresses.get(mail.sender, SDI01)
        if address.lower() != expected.lower():
            # "using another address does not guarantee processing" (§4.1): noted, processed
            log.warning("sandbox SdI: %s wrote to %s, not %s", mail.sender, address, expected)
            self.misdirected.append((mail.sender, address))
        name, content = files[0]
        if name.lower().endswith(".zip"):
            self._on_zip(mail, name, content)
        else:
            self._on_file(mail, name, content)

    async def close(self) -> None:
        """Cancel every timer and pending answer, wait for them, save the memory."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.memory.save()

    async def start(self) -> None:
        """After a restart: re-arm the DT timers of files still in their EC window."""
        for record in self.memory.files.values():
            if record.state is FileState.AWAITING and record.terms_until is not None:
                self._spawn(self._terms(record, duplicate=False))

    def adopt(self, record: FileRecord, content: bytes) -> None:
        """Track a file delivered by someone else on SdI's behalf (the simulated supplier):
        an FPA12 opens its EC window, so the recipient's EC is judged and DT comes (§3.3)."""
        self.memory.files[record.ident] = record
        self._contents[record.ident] = content
        if record.flow is SdiFlow.PA and record.state is FileState.AWAITING:
            self._spawn(self._terms(record, duplicate=False))
        self.memory.save()

    # --- queries ------------------------------------------------------------------------------

    def address_for(self, who: str) -> str:
        """The ``sdiNN`` address SdI uses with (and announces to) ``who``."""
        return self.memory.addresses.get(who, self.address)

    def record(self, identificativo_sdi: str) -> FileRecord | None:
        """What SdI knows of the file ``identificativo_sdi``."""
        return self.memory.files.get(identificativo_sdi)

    # --- reception ----------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox SdI task failed", exc_info=task.exception())

    def _announce(self, sender: str, scenario: Scenario) -> None:
        # The first answer assigns the sdiNN address; a scenario may move it (§4.1).
        if scenario.next_address:
            self.memory.addresses[sender] = scenario.next_address
        else:
            self.memory.addresses.setdefault(sender, self.address)

    def _on_zip(self, mail: build.Mail, name: str, content: bytes) -> None:
        """A zip: its name, size and readability are checked, then each file on its own
        with a RiferimentoArchivio (domain.md §2, §3.2)."""
        now = self.clock.now()
        ident = self.memory.new_ident()
        errors: list[Errore] = []
        members: list[tuple[str, bytes]] = []
        try:
            parse_invoice_file_name(name)
        except InvalidFileName as exc:
            errors.append(error("00001", str(exc)))
        if not errors and _stem(name) in self.memory.names:
            errors.append(error("00002"))
        if not errors and len(content) > MAX_FILE_BYTES:
            errors.append(error("00003"))
        if not errors:
            try:
                members = open_zip(content)
            except ZipProblem as exc:
                errors.append(error("00106", str(exc)))
        self.memory.names.add(_stem(name))
        if errors:
            record = FileRecord(ident, name, mail.sender, SdiFlow.B2B, now,
                                file_hash=file_hash(content), pec_message_id=mail.pec_id)
            self._register(record, content, self.scenarios.default, mail.sender)
            self._spawn(self._answer(record, self.scenarios.default, errors))
            return
        for member, data in members:
            self._on_file(mail, member, data, archive=(ident, name))

    def _on_file(self, mail: build.Mail, name: str, content: bytes,
                 archive: tuple[str, str] | None = None) -> None:
        now = self.clock.now()
        checked = check_file(name, content, received=now, names_seen=self.memory.names,
                             accepted=self.memory.accepted, trust=self.trust)
        self.memory.names.add(_stem(name))  # 00002 is forever, discarded files too (§2)
        scenario = self.scenarios.for_invoice(checked.codice_destinatario,
                                              checked.pec_destinatario)
        record = FileRecord(
            self.memory.new_ident(), name, mail.sender, checked.flow, now,
            recipient=scenario.recipient, codice=checked.codice_destinatario,
            formato=checked.formato, file_hash=file_hash(content), pec_message_id=mail.pec_id,
            archive=archive, invoices=checked.invoices)
        errors = list(checked.errors)
        if scenario.outcome is Outcome.SCARTO:
            found = {e.codice for e in errors}
            errors += [error(c, f"scenario {scenario.name}") for c in scenario.codes
                       if c not in found]
        if not errors:  # accepted now, so the very next file can already be a duplicate
            self.memory.accepted.update(ref.key for ref in checked.invoices)
        else:
            record.state = FileState.REJECTED
        self._register(record, content, scenario, mail.sender)
        self._spawn(self._answer(record, scenario, errors))

    def _register(self, record: FileRecord, content: bytes, scenario: Scenario,
                  sender: str) -> None:
        self._announce(sender, scenario)
        self.memory.files[record.ident] = record
        self._contents[record.ident] = content
        self.memory.save()

    # --- answers ------------------------------------------------------------------------------

    async def _send(self, record: FileRecord, message: SdiMessage, to: str, *,
                    duplicate: bool = False, invoice: bytes | None = None) -> None:
        file = self.post.file(record, message, invoice=invoice)
        await self.post.mail([file], to, sdi_address=self.address_for(to), duplicate=duplicate)

    async def _answer(self, record: FileRecord, scenario: Scenario, errors: list[Errore]
                      ) -> None:
        timing = scenario.timing
        if scenario.sdi_silent:
            log.info("sandbox SdI: silent on %s (scenario %s)", record.name, scenario.name)
            return
        await self.clock.sleep(timing.delay)
        mid = self.post.message_id
        if errors:
            await self._send(record, build.ns(record, mid(), errors), record.transmitter,
                             duplicate=timing.duplicate)
            return
        pa = record.flow is SdiFlow.PA
        if scenario.outcome is Outcome.MANCATA_CONSEGNA or (pa and scenario.pa is PaAnswer.AT):
            record.state = FileState.PENDING if pa else FileState.UNDELIVERED
            await self._send(record, build.mc(record, mid(), self.clock.now()),
                             record.transmitter, duplicate=timing.duplicate)
            if not pa:
                return  # B2B: terminal, the invoice is issued (§3.3)
            await self.clock.sleep(timing.mc_retry)  # SdI retries the PA for 10 days
            if scenario.pa is PaAnswer.AT or scenario.after_mc is AfterMc.AT:
                record.state = FileState.ATTESTED
                await self._send(record, build.at(record, mid()), record.transmitter,
                                 duplicate=timing.duplicate,
                                 invoice=self._contents.get(record.ident, b""))
                return
        await self._deliver(record, scenario)

    async def _deliver(self, record: FileRecord, scenario: Scenario) -> None:
        timing = scenario.timing
        mid = self.post.message_id
        if record.recipient:  # invoice + MT to the recipient's PEC address (§3.3)
            content = self._contents.get(record.ident, b"")
            files = [self.post.file(record, build.mt(record, mid())),
                     build.invoice_file(record, content)]
            await self.post.mail(files, record.recipient,
                                 sdi_address=self.address_for(record.recipient))
        now = self.clock.now()
        # Out of order (§3.4): an MC produced before the RC (lower counter) arrives after it.
        stale = self.post.file(record, build.mc(record, mid(), now)) \
            if timing.out_of_order else None
        receipt = self.post.file(record, build.rc(record, mid(), now))
        record.delivered_at = now
        if record.flow is SdiFlow.PA:
            record.state = FileState.AWAITING
            record.terms_until = now + dt.timedelta(seconds=timing.terms)
        else:
            record.state = FileState.DELIVERED
        self.memory.save()
        sdi = self.address_for(record.transmitter)
        await self.post.mail([receipt], record.transmitter, sdi_address=sdi,
                             duplicate=timing.duplicate)
        if stale is not None:
            await self.post.mail([stale], record.transmitter, sdi_address=sdi,
                                 duplicate=timing.duplicate)
        if record.flow is SdiFlow.PA:
            self._spawn(self._terms(record, duplicate=timing.duplicate))
            if scenario.pa in (PaAnswer.ACCEPT, PaAnswer.REFUSE):
                self._spawn(self._pa_answers(record, scenario))

    async def _terms(self, record: FileRecord, *, duplicate: bool) -> None:
        """DT to both parties when the EC window closes without an admissible EC (§3.3)."""
        assert record.terms_until is not None
        await self.clock.sleep_until(record.terms_until)
        if record.state is not FileState.AWAITING:
            return
        record.state = FileState.EXPIRED
        file = self.post.file(record, build.dt_(record, self.post.message_id()))
        await self.post.mail([file], record.transmitter,
                             sdi_address=self.address_for(record.transmitter),
                             duplicate=duplicate)
        if record.recipient:
            await self.post.mail([file], record.recipient,
                                 sdi_address=self.address_for(record.recipient))

    async def _pa_answers(self, record: FileRecord, scenario: Scenario) -> None:
        """The simulated PA: after ``answer_after``, an EC mailed to SdI like any PEC user."""
        await self.clock.sleep(scenario.timing.answer_after)
        sender = record.recipient or pa_address(record.codice)
        sdi = self.address_for(sender)
        esito = Esito.EC01 if scenario.pa is PaAnswer.ACCEPT else Esito.EC02
        raw = esito_mail(sender=sender, sdi_address=sdi, invoice_name=record.name,
                         identificativo_sdi=record.ident, esito=esito,
                         reason=scenario.reason or "Fattura rifiutata",
                         when=self.clock.now(), serial=self.memory.new_serial())
        await self.network.send(sender, [sdi], raw)

    # --- the PA's outcome (EC) ----------------------------------------------------------------

    def _on_esito(self, mail: build.Mail, name: str, content: bytes) -> None:
        """Judge an EC now (so a duplicate right after is refused); NE or SE go from a task."""
        try:
            message = parse_sdi_message(content)
            if not isinstance(message, EsitoCommittente):
                raise ValueError(f"{type(message).__name__} where an EC was expected")
        except ValueError as exc:  # MalformedSdiMessage, UnknownSdiMessage: EN00
            stem = parse_notification_file_name(name).invoice_stem
            known = [r for r in self.memory.files.values() if _stem(r.name) == stem]
            if not known:
                log.warning("sandbox SdI: unreadable EC %s for no known file: %s", name, exc)
                return
            self._spawn(self._refuse_esito(known[-1], mail.sender, Scarto.EN00, None, str(exc)))
            return
        record = self.memory.files.get(message.identificativo_sdi)
        why = None
        if record is None:
            stem = parse_notification_file_name(name).invoice_stem
            record = FileRecord(message.identificativo_sdi, f"{stem}.xml", mail.sender,
                                SdiFlow.PA, self.clock.now(), state=FileState.REJECTED)
            why = "IdentificativoSdI sconosciuto"
        elif record.flow is not SdiFlow.PA:
            why = "il file non e' destinato a una PA"
        elif record.state is FileState.EXPIRED or (
                record.terms_until is not None and self.clock.now() > record.terms_until):
            why = "termini decorsi"
        elif record.state in (FileState.ACCEPTED, FileState.REFUSED):
            why = "esito gia' ricevuto"
        elif not record.state.takes_esito:
            why = f"file non consegnato (stato {record.state.value})"
        if why is not None:
            self._spawn(self._refuse_esito(record, mail.sender, Scarto.EN01, message, why))
            return
        record.state = FileState.ACCEPTED if message.esito is Esito.EC01 else FileState.REFUSED
        record.esito_from = mail.sender
        self.memory.save()
        self._spawn(self._send(record, build.ne(record, self.post.message_id(), message),
                               record.transmitter))

    async def _refuse_esito(self, record: FileRecord, to: str, scarto: Scarto,
                            esito: EsitoCommittente | None, why: str) -> None:
        log.info("sandbox SdI: EC for %s refused (%s): %s", record.name, scarto.value, why)
        await self._send(record, build.se(record, self.post.message_id(), scarto, esito, why), to)
