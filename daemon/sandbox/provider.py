"""A sandbox PEC provider: takes submissions, issues receipts, carries certified mail.

It plays both halves of a real PEC exchange (domain.md §4.2). As the *sender's* provider it
checks each submission (the sender must be the authenticated account, the message within the
size limit, every envelope recipient in To/Cc), answers with a signed accettazione or
non-accettazione, and wraps the original in one transport envelope. As the *recipient's*
provider (itself, or a linked peer: `link`) it puts the envelope in the account's `Mailbox`, or
hands it to an `Endpoint` (the simulated SdI owns ``sdiNN@pec.fatturapa.it``), and issues the
avvenuta-consegna — or an errore-consegna when nobody serves the address. Non-PEC mail from
outside becomes an anomaly envelope (`inject_external`).

Submissions arrive over SMTP (`serve`, in `provider_smtp`) or in-process (`send`, the
`PecNetwork` contract). Every message is made by the pure builders of
`handlers.formats.pec_build`; identifiers come from `opec_identifier` with a counter, times from
the `FastClock`. Faults (`ProviderFaults`) refuse, delay, duplicate or lose; delayed work runs
in tasks the provider tracks and cancels in `close`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import itertools
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import Endpoint, Mailbox
from daemon.sandbox.provider_faults import (
    BCC_REFUSED,
    DELIVERY_FAILED,
    NO_DEST,
    PROVIDER_REFUSED,
    SENDER_REFUSED,
    SIZE_REFUSED,
    TIMEOUT,
    ProviderFaults,
)
from daemon.sandbox.provider_tasks import DelayedWork
from handlers.formats import pec_build as pb
from handlers.formats.daticert import DaticertErrore, TipoRicevuta
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sig_common import Signer

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Account",
    "ProviderFaults",
    "SandboxProvider",
    "Submission",
    "SubmissionRejected",
]

log = logging.getLogger(__name__)

#: A whole PEC message may not exceed 30 MB (domain.md §4.1).
MAX_MESSAGE_BYTES = 30 * 1024 * 1024


class SubmissionRejected(Exception):
    """Refused before any receipt could be made (SMTP 4xx/5xx): ``reply`` is the SMTP reply."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Account:
    """A PEC mailbox at this provider: login is the address, as at real providers."""

    address: str
    password: str = field(repr=False)
    mailbox: Mailbox


@dataclass(frozen=True, slots=True)
class Submission:
    """What became of one submission: its transport ``identificativo`` and the verdict."""

    identificativo: str
    accepted: bool
    reason: str | None = None  # errore-esteso of the non-accettazione


class SandboxProvider:
    """One sandbox PEC provider (``posta-certificata@<domain>``, daticert ``gestore``).

    Without ``signer`` it makes its own throw-away PKI; ``ca_pem`` is then the CA to trust.
    """

    def __init__(self, domain: str, gestore: str, signer: Signer | None = None,
                 clock: FastClock | None = None, *, ca_pem: bytes | None = None,
                 max_message_bytes: int = MAX_MESSAGE_BYTES,
                 faults: ProviderFaults | None = None) -> None:
        if signer is None:
            ca_pem, signer = make_sandbox_pki(gestore, email=f"posta-certificata@{domain}")
        self.pec = pb.PecProvider(gestore, domain, signer)
        self.ca_pem = ca_pem
        self.clock = clock or FastClock()
        self.max_message_bytes = max_message_bytes
        self.faults = faults or ProviderFaults()
        self._accounts: dict[str, Account] = {}
        self._endpoints: list[Endpoint] = []
        self._peers: list[SandboxProvider] = []
        self._serial = itertools.count(1)
        self._work = DelayedWork(domain)

    @property
    def domain(self) -> str:
        return self.pec.domain

    # --- the PEC world ----------------------------------------------------------------------

    def add_account(self, address: str, password: str, mailbox: Mailbox) -> Account:
        """Open a mailbox for ``address`` (its SMTP login and password)."""
        account = Account(address, password, mailbox)
        self._accounts[address.lower()] = account
        log.info("provider %s: account %s opened", self.domain, address)
        return account

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Serve the addresses ``endpoint`` accepts (the simulated SdI) from this provider.

        Certified mail for them goes to the endpoint even if the address also has an account
        (whose mailbox then only collects the receipts of what the endpoint sends)."""
        self._endpoints.append(endpoint)

    def link(self, *others: SandboxProvider) -> None:
        """Let this provider and ``others`` carry mail to each other's accounts and endpoints
        (e.g. the user's provider and Sogei, SdI's provider)."""
        for other in others:
            if other is not self and other not in self._peers:
                self._peers.append(other)
                other.link(self)

    def serves(self, address: str) -> bool:
        """Whether ``address`` is an account or endpoint address of this provider."""
        return address.lower() in self._accounts or self._endpoint_for(address) is not None

    def check_login(self, login: str, password: str) -> bool:
        """SMTP AUTH: the account exists and the password matches."""
        account = self._accounts.get(login.lower())
        return account is not None and hmac.compare_digest(account.password.encode(),
                                                           password.encode())

    def _endpoint_for(self, address: str) -> Endpoint | None:
        return next((e for e in self._endpoints if e.accepts(address)), None)

    def _owner(self, address: str) -> SandboxProvider | None:
        return next((p for p in (self, *self._peers) if p.serves(address)), None)

    def _new_id(self) -> str:
        return pb.opec_identifier(self.domain, self.clock.now(), next(self._serial))

    # --- submission -------------------------------------------------------------------------

    async def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """`PecNetwork.send`: submit as ``sender`` in-process (no SMTP, same checks and
        receipts; receipts reach ``sender`` only if it has an account here). Raises
        `SubmissionRejected` where SMTP would answer 4xx/5xx."""
        await self.submit(sender, recipients, raw, account=sender)

    async def submit(self, mail_from: str, recipients: Sequence[str], raw: bytes, *,
                     account: str) -> Submission:
        """Check, accept or refuse, and carry one message submitted by ``account``.

        Returns once the accettazione and every delivery are done, except what a fault delays.
        Raises `SubmissionRejected` when no receipt can be made (no From or Message-ID, to
        which a receipt could not refer) or on ``tempfail_submissions``.
        """
        faults = self.faults
        if faults.tempfail_submissions:
            raise SubmissionRejected("451 4.3.0 Servizio temporaneamente non disponibile")
        try:
            original = pb.read_original(raw)
        except ValueError as exc:
            raise SubmissionRejected(f"550 5.6.0 {exc}") from exc
        if original.message_id is None:
            # Every receipt names the original by Message-ID (domain.md §4.2): without one the
            # sender could never match them.
            raise SubmissionRejected("550 5.6.0 message without Message-ID")
        if not recipients:
            raise SubmissionRejected("554 5.5.1 no valid recipients")
        identificativo = self._new_id()
        sender_box = self._mailbox(account)
        reason, errore = self._refusal(account, mail_from, recipients, raw, original)
        if reason is not None:
            log.info("provider %s: message %s from %s not accepted as %s: %s", self.domain,
                     original.message_id, account, identificativo, reason)
            receipt = await _build(pb.non_accettazione, raw, self.pec, message_id=self._new_id(),
                                   identificativo=identificativo, when=self.clock.now(),
                                   errore=errore, errore_esteso=reason)
            await self._to_sender(sender_box, "non-accettazione", receipt,
                                  faults.delay_accettazione_seconds)
            return Submission(identificativo, accepted=False, reason=reason)
        when = self.clock.now()
        log.info("provider %s: message %s from %s accepted as %s for %s", self.domain,
                 original.message_id, account, identificativo, ", ".join(recipients))
        receipt = await _build(pb.accettazione, raw, self.pec, message_id=self._new_id(),
                               identificativo=identificativo, when=when)
        await self._to_sender(sender_box, "accettazione", receipt,
                              faults.delay_accettazione_seconds)
        # One transport envelope per message, for all recipients (domain.md §4.2).
        envelope = await _build(pb.transport_envelope, raw, self.pec,
                                identificativo=identificativo, when=when)
        for address in dict.fromkeys(recipients):
            await self._carry(address, raw, envelope, identificativo, sender_box)
        return Submission(identificativo, accepted=True)

    def _mailbox(self, account: str) -> Mailbox | None:
        found = self._accounts.get(account.lower())
        return found.mailbox if found is not None else None

    def _refusal(self, account: str, mail_from: str, recipients: Sequence[str], raw: bytes,
                 original: pb.OriginalMessage) -> tuple[str | None, DaticertErrore]:
        """The errore-esteso of a non-accettazione, or None: the sender's provider's formal
        checks (DM 2/11/2005 technical rules; domain.md §4.1–4.2)."""
        if self.faults.refuse_all:
            return PROVIDER_REFUSED, DaticertErrore.ALTRO
        if len(raw) > self.max_message_bytes:
            return SIZE_REFUSED.format(size=len(raw), limit=self.max_message_bytes), \
                DaticertErrore.ALTRO
        for claimed in (mail_from, original.sender):
            if claimed.lower() != account.lower():
                return SENDER_REFUSED.format(sender=claimed, account=account), \
                    DaticertErrore.ALTRO
        # The envelope recipients must be in To/Cc: PEC has no blind copies, daticert lists
        # every recipient (destinatari) from the headers.
        listed = {a.lower() for a in original.recipients}
        for address in recipients:
            if address.lower() not in listed:
                return BCC_REFUSED.format(address=address), DaticertErrore.ALTRO
        return None, DaticertErrore.NESSUNO

    # --- carrying ---------------------------------------------------------------------------

    async def _carry(self, address: str, raw: bytes, envelope: bytes, identificativo: str,
                     sender_box: Mailbox | None) -> None:
        faults = self.faults
        delay = faults.delay_receipts_seconds
        if faults.dropped(address):
            log.info("provider %s: delivery of %s to %s lost (fault)", self.domain,
                     identificativo, address)
            self._work.spawn(self._overdue(address, raw, identificativo, sender_box))
            return
        owner = self._owner(address)
        if owner is None:
            log.info("provider %s: %s: no such address %s", self.domain, identificativo, address)
            if faults.preavviso_unknown:
                notice = await self._preavviso(raw, identificativo, address)
                await self._to_sender(sender_box, "preavviso-errore-consegna", notice, delay)
            receipt = await _build(pb.errore_consegna, raw, self.pec, message_id=self._new_id(),
                                   identificativo=identificativo, when=self.clock.now(),
                                   consegna=address, errore=DaticertErrore.NO_DEST,
                                   errore_esteso=NO_DEST.format(gestore=self.pec.gestore))
            await self._to_sender(sender_box, "errore-consegna", receipt, delay)
            return
        # The recipient's provider delivers and issues the receipt; the faults that delay or
        # duplicate it are the sender's provider's (the one a scenario configures).
        kind, receipt = await owner.deliver_here(address, raw, envelope, identificativo)
        await self._to_sender(sender_box, kind, receipt, delay)

    async def deliver_here(self, address: str, raw: bytes, envelope: bytes,
                           identificativo: str) -> tuple[str, bytes]:
        """As recipient's provider: put ``envelope`` in ``address``'s mailbox or endpoint and
        return the receipt *this* provider issues (avvenuta-consegna or errore-consegna)."""
        account = self._accounts.get(address.lower())
        endpoint = self._endpoint_for(address)
        try:
            # An endpoint wins over an account of the same address: the simulated SdI takes
            # its certified mail itself and may keep an account only to collect its receipts.
            if endpoint is not None:
                await endpoint.receive(address, raw, envelope)
            elif account is not None:
                await account.mailbox.deliver(envelope)
            else:
                raise LookupError(f"{address} is not served here")
        except Exception as exc:  # any mailbox/endpoint failure is a failed delivery, reported
            log.warning("provider %s: delivery of %s to %s failed: %r", self.domain,
                        identificativo, address, exc)
            error = DELIVERY_FAILED.format(gestore=self.pec.gestore, error=type(exc).__name__)
            receipt = await _build(pb.errore_consegna, raw, self.pec, message_id=self._new_id(),
                                   identificativo=identificativo, when=self.clock.now(),
                                   consegna=address, errore=DaticertErrore.ALTRO,
                                   errore_esteso=error)
            return "errore-consegna", receipt
        log.info("provider %s: %s delivered to %s", self.domain, identificativo, address)
        tipo = pb.read_original(raw).tipo_ricevuta
        if tipo is TipoRicevuta.BREVE:
            tipo = TipoRicevuta.COMPLETA  # breve (hashes for attachments) is not simulated
        receipt = await _build(pb.avvenuta_consegna, raw, self.pec, message_id=self._new_id(),
                               identificativo=identificativo, when=self.clock.now(),
                               consegna=address, ricevuta=tipo)
        return "avvenuta-consegna", receipt

    async def _preavviso(self, raw: bytes, identificativo: str, address: str) -> bytes:
        return await _build(pb.preavviso_errore_consegna, raw, self.pec,
                            message_id=self._new_id(), identificativo=identificativo,
                            when=self.clock.now(), consegna=address, errore_esteso=TIMEOUT)

    async def _overdue(self, address: str, raw: bytes, identificativo: str,
                       sender_box: Mailbox | None) -> None:
        """A lost delivery: preavviso at 12 h, final errore-consegna at 24 h (domain.md §4.2),
        both from the sender's provider, on the simulated clock."""
        faults = self.faults
        await self.clock.sleep(faults.preavviso_after_seconds)
        notice = await self._preavviso(raw, identificativo, address)
        await self._put(sender_box, "preavviso-errore-consegna", notice)
        await self.clock.sleep(faults.timeout_after_seconds - faults.preavviso_after_seconds)
        final = await _build(pb.errore_consegna, raw, self.pec, message_id=self._new_id(),
                             identificativo=identificativo, when=self.clock.now(),
                             consegna=address, errore=DaticertErrore.ALTRO,
                             errore_esteso=TIMEOUT, timeout=True)
        await self._put(sender_box, "errore-consegna", final)

    async def inject_external(self, recipient: str, raw: bytes) -> str:
        """Non-PEC mail from outside for ``recipient``: deliver it wrapped in an anomaly
        envelope (``X-Trasporto: errore``, domain.md §4.2); return the envelope's id."""
        account = self._accounts.get(recipient.lower())
        if account is None:
            raise LookupError(f"{recipient} has no mailbox at {self.domain}")
        message_id = self._new_id()
        envelope = await _build(pb.anomaly_envelope, raw, self.pec, message_id=message_id,
                                when=self.clock.now())
        await account.mailbox.deliver(envelope)
        log.info("provider %s: external mail for %s delivered as anomaly %s", self.domain,
                 recipient, message_id)
        return message_id

    # --- receipts to the sender -------------------------------------------------------------

    async def _to_sender(self, box: Mailbox | None, kind: str, receipt: bytes,
                         delay: float) -> None:
        if delay > 0:
            self._work.spawn(self._later(delay, box, kind, receipt))
        else:
            await self._put(box, kind, receipt)

    async def _later(self, delay: float, box: Mailbox | None, kind: str, receipt: bytes) -> None:
        await self.clock.sleep(delay)
        await self._put(box, kind, receipt)

    async def _put(self, box: Mailbox | None, kind: str, receipt: bytes) -> None:
        head = BytesHeaderParser().parsebytes(receipt)
        ids = f"{head['Message-ID']} (about {head['X-Riferimento-Message-ID']})"
        to = str(head["To"])
        if box is None:
            log.info("provider %s: %s %s for %s dropped: no mailbox here", self.domain, kind,
                     ids, to)
            return
        copies = 2 if self.faults.duplicate_receipts else 1
        try:
            for _ in range(copies):
                await box.deliver(receipt)
        except Exception as exc:  # a receipt the sender's mailbox refused is lost, and said so
            log.error("provider %s: %s %s for %s lost: mailbox refused it: %r", self.domain,
                      kind, ids, to, exc)
            return
        log.info("provider %s: %s %s delivered to %s%s", self.domain, kind, ids, to,
                 " (twice)" if copies > 1 else "")

    # --- tasks and lifecycle ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Delayed receipts and overdue notices not yet sent."""
        return len(self._work)

    async def settle(self) -> None:
        """Wait until every delayed receipt has been sent (time passes on the clock)."""
        await self._work.settle()

    async def close(self) -> None:
        """Cancel what is still delayed and wait for it to stop; no new work is accepted."""
        await self._work.close()

    async def serve(self, host: str, port: int, stop: asyncio.Event,
                    started: asyncio.Event | None = None, *,
                    tls: ssl.SSLContext | None = None) -> None:
        """Serve SMTP submission on loopback ``host:port`` until ``stop`` (see
        `provider_smtp.serve_submission`)."""
        from daemon.sandbox.provider_smtp import serve_submission

        await serve_submission(self, host, port, stop, started, tls=tls)


async def _build(builder: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
    # RSA signing and base64 of up to 30 MB: off the loop, which may be running pecora too.
    return await asyncio.to_thread(functools.partial(builder, *args, **kwargs))
