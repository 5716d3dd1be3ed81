"""The simulated SdI's outgoing side: its messages as typed values, named, signed and mailed.

Each builder turns a `FileRecord` into the `sdi_types` value SdI would send (domain.md §3.2);
`SdiPost` names it with the file's per-file counter (§2), signs it in SdI's XAdES profile with
the sandbox key (§5.3, via `sdi_build`), wraps it in SdI's mail (`sdi_mail`, whose text part
announces the ``sdiNN`` address to use next, §4.1) and submits it through the `PecNetwork`,
as SdI submits to its own PEC provider. `read_mail` is the incoming side: what a certified
message to SdI carries.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import PecNetwork
from daemon.sandbox.sdi_state import FileRecord, SdiMemory
from handlers.formats.filenames import InvalidFileName, parse_invoice_file_name
from handlers.formats.pec import MalformedPec, parse_pec
from handlers.formats.sdi_build import SdiFile, build_sdi_file, file_hash
from handlers.formats.sdi_dates import ITALY
from handlers.formats.sdi_mail import sdi_mail, sdi_message_id
from handlers.formats.sdi_types import (
    AttestazioneTrasmissioneFattura,
    Destinatario,
    Errore,
    EsitoCommittente,
    MetadatiInvioFile,
    NotificaDecorrenzaTermini,
    NotificaEsito,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    RiferimentoArchivio,
    RiferimentoFattura,
    Scarto,
    ScartoEsitoCommittente,
    SdiFlow,
    SdiMessage,
)
from handlers.formats.sig_common import Signer

__all__ = [
    "Mail", "SdiPost", "at", "dt_", "invoice_file", "mc", "mt", "naming_name", "ne", "ns", "rc",
    "read_mail", "se",
]

log = logging.getLogger(__name__)


class _Base(TypedDict):
    flow: SdiFlow
    identificativo_sdi: str
    message_id: str | None
    pec_message_id: str | None
    note: str | None
    signed: bool


def _base(record: FileRecord, message_id: str, flow: SdiFlow | None = None) -> _Base:
    return {"flow": flow or record.flow, "identificativo_sdi": record.ident,
            "message_id": message_id, "pec_message_id": record.pec_message_id, "note": None,
            "signed": True}


def _archive(record: FileRecord) -> RiferimentoArchivio | None:
    return RiferimentoArchivio(*record.archive) if record.archive else None


def _destinatario(record: FileRecord) -> Destinatario:
    return Destinatario(record.codice or "0000000", record.recipient)


def rc(record: FileRecord, message_id: str, now: dt.datetime) -> RicevutaConsegna:
    """RC: delivered (domain.md §3.2)."""
    return RicevutaConsegna(**_base(record, message_id), nome_file=record.name,
                            hash=record.file_hash, data_ora_ricezione=record.received_at,
                            data_ora_consegna=now, destinatario=_destinatario(record),
                            riferimento_archivio=_archive(record),
                            intermediario_con_duplice_ruolo=False, flusso_semplificato=False)


def ns(record: FileRecord, message_id: str, errors: Sequence[Errore]) -> NotificaScarto:
    """NS / RicevutaScarto with the ``errors`` found (1..200)."""
    return NotificaScarto(**_base(record, message_id), nome_file=record.name,
                          hash=record.file_hash, data_ora_ricezione=record.received_at,
                          riferimento_archivio=_archive(record), errori=tuple(errors))


def mc(record: FileRecord, message_id: str, now: dt.datetime) -> NotificaMancataConsegna:
    """MC / RicevutaImpossibilitaRecapito (B2B: available in the reserved area from today)."""
    return NotificaMancataConsegna(
        **_base(record, message_id), nome_file=record.name, hash=record.file_hash,
        data_ora_ricezione=record.received_at,
        data_messa_a_disposizione=now.astimezone(ITALY).date(),
        riferimento_archivio=_archive(record),
        descrizione="Impossibile recapitare il file al destinatario")


def mt(record: FileRecord, message_id: str) -> MetadatiInvioFile:
    """MT: the metadata travelling with the invoice to the recipient (unsigned, §3.2)."""
    base = _base(record, message_id)
    base["signed"] = False
    return MetadatiInvioFile(**base, nome_file=record.name, hash=record.file_hash,
                             codice_destinatario=record.codice or "0000000",
                             formato=record.formato or "FPR12", tentativi_invio=1)


def ne(record: FileRecord, message_id: str, esito: EsitoCommittente) -> NotificaEsito:
    """NE: the PA's EC forwarded to the transmitter (PA flow only)."""
    return NotificaEsito(**_base(record, message_id, SdiFlow.PA), nome_file=record.name,
                         esito_committente=esito, intermediario_con_duplice_ruolo=False)


def se(record: FileRecord, message_id: str, scarto: Scarto, esito: EsitoCommittente | None,
       why: str) -> ScartoEsitoCommittente:
    """SE: the PA's EC refused (EN00 format, EN01 not admissible); ``why`` goes in Note."""
    base = _base(record, message_id, SdiFlow.PA)
    base["note"] = why[:255]
    return ScartoEsitoCommittente(
        **base, riferimento_fattura=esito.riferimento_fattura if esito else None,
        scarto=scarto, message_id_committente=esito.message_id_committente if esito else None)


def dt_(record: FileRecord, message_id: str) -> NotificaDecorrenzaTermini:
    """DT: the 15 days passed without an admissible EC."""
    ref = None
    if len(record.invoices) == 1:
        key = record.invoices[0].key
        ref = RiferimentoFattura(key.numero, key.year)
    return NotificaDecorrenzaTermini(
        **_base(record, message_id, SdiFlow.PA), riferimento_fattura=ref,
        nome_file=record.name, intermediario_con_duplice_ruolo=False,
        descrizione="Decorrenza termini: nessun esito committente entro 15 giorni")


def at(record: FileRecord, message_id: str) -> AttestazioneTrasmissioneFattura:
    """AT: transmitted, but the PA could not be reached in 10 days (terminal)."""
    return AttestazioneTrasmissioneFattura(
        **_base(record, message_id, SdiFlow.PA), nome_file=record.name,
        data_ora_ricezione=record.received_at, riferimento_archivio=_archive(record),
        destinatario=_destinatario(record), hash_file_originale=record.file_hash)


def naming_name(record: FileRecord) -> str:
    """The invoice file name SdI's message names are built on. A file whose own name breaks
    the rule (00001) cannot give one: its NS is named after its IdentificativoSdI."""
    try:
        parse_invoice_file_name(record.name)
    except InvalidFileName:
        return f"IT{record.ident[-11:]:0>11}_00000.xml"
    return record.name


@dataclass(frozen=True, slots=True)
class Mail:
    """Who sent a certified message to SdI and the files attached."""

    sender: str
    attachments: tuple[tuple[str, bytes], ...]
    pec_id: str | None  # the provider's id of the envelope: SdI's PecMessageId (§3.2)


def read_mail(original: bytes, envelope: bytes) -> Mail:
    """Sender and attachments of a certified message: from the transport envelope the
    provider hands over (`parse_pec`), else from the original itself."""
    try:
        pec = parse_pec(envelope)
    except MalformedPec:
        pec = None
    if pec is not None and pec.postacert is not None:
        inner = pec.postacert
        files = tuple((a.original_filename or a.filename, a.content) for a in inner.attachments)
        return Mail(pec.mittente or inner.from_address or "", files, pec.message_id)
    message = email.message_from_bytes(original, policy=email.policy.default)
    found = []
    for part in message.walk():
        name = part.get_filename()
        payload = part.get_payload(decode=True)
        if name and isinstance(payload, bytes):
            found.append((name, payload))
    sender = email.utils.parseaddr(str(message.get("From", "")))[1]
    return Mail(sender, tuple(found), None)


class SdiPost:
    """Builds SdI's files for a record and mails them through the network (``signer`` None:
    unsigned, like the official examples — only for actors that send MTs alone)."""

    def __init__(self, network: PecNetwork, clock: FastClock, signer: Signer | None,
                 memory: SdiMemory, *, simulazione: bool = False) -> None:
        self.network = network
        self.clock = clock
        self.signer = signer
        self.memory = memory
        self.simulazione = simulazione

    def message_id(self) -> str:
        """A fresh SdI MessageId (PA schema: ≤ 14 chars)."""
        return str(self.memory.new_serial())

    def file(self, record: FileRecord, message: SdiMessage, *, invoice: bytes | None = None,
             counter: int | None = None) -> SdiFile:
        """``message`` as SdI's file, named with the next per-file counter (or ``counter``)."""
        number = counter if counter is not None else record.next_counter()
        self.memory.save()
        signer = None if isinstance(message, MetadatiInvioFile) else self.signer
        return build_sdi_file(message, naming_name(record), number, signer,
                              signing_time=self.clock.now(), invoice=invoice)

    async def mail(self, files: Sequence[SdiFile], to: str, *, sdi_address: str,
                   next_address: str | None = None, duplicate: bool = False) -> None:
        """Submit one SdI mail with ``files`` to ``to`` (twice when ``duplicate``)."""
        now = self.clock.now()
        raw = sdi_mail(files, sdi_address=sdi_address, to=to,
                       message_id=sdi_message_id(self.memory.new_serial(), now), when=now,
                       next_address=next_address or sdi_address,
                       simulazione=self.simulazione)
        self.memory.save()
        for _ in range(2 if duplicate else 1):
            log.info("sandbox SdI → %s: %s", to, ", ".join(f.name for f in files))
            await self.network.send(sdi_address, [to], raw)


def invoice_file(record: FileRecord, content: bytes) -> SdiFile:
    """The invoice as SdI forwards it to the recipient (same name and bytes, §3.2 Hash)."""
    if record.file_hash is None:
        record.file_hash = file_hash(content)
    return SdiFile(record.name, content)
