"""Typed values for the SdI messages (RC NS MC NE EC SE DT AT MT), shared by parser and builder.

One frozen dataclass per message type (domain.md §3.1–3.2). The same class serves both flows:
the B2B roots ``RicevutaScarto``/``RicevutaImpossibilitaRecapito``/``FileMetadati`` are the B2B
spelling of NS/MC/MT, and ``flow`` says which namespace the message came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from handlers.formats.filenames import NotificationType

__all__ = [
    "NS_B2B",
    "NS_PA",
    "AttestazioneTrasmissioneFattura",
    "Destinatario",
    "Errore",
    "Esito",
    "EsitoCommittente",
    "MalformedSdiMessage",
    "MetadatiInvioFile",
    "NotificaDecorrenzaTermini",
    "NotificaEsito",
    "NotificaMancataConsegna",
    "NotificaScarto",
    "RicevutaConsegna",
    "RiferimentoArchivio",
    "RiferimentoFattura",
    "Scarto",
    "ScartoEsitoCommittente",
    "SdiFlow",
    "SdiMessage",
    "UnknownSdiMessage",
]

#: Namespace of the PA-flow messages (``MessaggiTypes_v1.1.xsd``).
NS_PA = "http://www.fatturapa.gov.it/sdi/messaggi/v1.0"
#: Namespace of the B2B/B2C-flow messages (``MessaggiFatturaTypes_v1.0.xsd``).
NS_B2B = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fattura/messaggi/v1.0"


class UnknownSdiMessage(ValueError):
    """Well-formed XML, but not an SdI message this module knows (other root or namespace)."""


class MalformedSdiMessage(ValueError):
    """Not (safe, well-formed) XML, or an SdI message lacking what no consumer can do without."""


class SdiFlow(StrEnum):
    """Which SdI schema (namespace) a message belongs to (domain.md §3.1)."""

    PA = "pa"
    B2B = "b2b"


class Esito(StrEnum):
    """Outcome a PA recipient gives an invoice (EC / NE)."""

    EC01 = "EC01"  # accettazione
    EC02 = "EC02"  # rifiuto


class Scarto(StrEnum):
    """Why SdI refused an EC (SE)."""

    EN00 = "EN00"  # EC not conformant to the format
    EN01 = "EN01"  # EC not admissible (terms expired, unknown IdentificativoSdI, duplicate...)


@dataclass(frozen=True, slots=True)
class Errore:
    """One ``ListaErrori/Errore`` of a scarto; ``suggerimento`` exists only in the B2B flow."""

    codice: str
    descrizione: str | None
    suggerimento: str | None


@dataclass(frozen=True, slots=True)
class Destinatario:
    """``Destinatario``: recipient office/channel code and name (real B2B RCs leave it empty)."""

    codice: str | None
    descrizione: str | None


@dataclass(frozen=True, slots=True)
class RiferimentoArchivio:
    """The zip archive a file arrived in (each file of a zip gets its own IdentificativoSdI)."""

    identificativo_sdi: str
    nome_file: str


@dataclass(frozen=True, slots=True)
class RiferimentoFattura:
    """One invoice inside a file: number, year and position in the lot (``PosizioneFattura``)."""

    numero_fattura: str
    anno_fattura: int
    posizione_fattura: int | None = None


@dataclass(frozen=True, slots=True)
class _SdiBase:
    """Fields every SdI message may carry.

    ``identificativo_sdi`` is SdI's id of the *file* (string: the B2B schema allows 36 chars);
    ``message_id`` is SdI's id of this message (absent in an EC, written by the PA);
    ``pec_message_id`` a PEC provider id to correlate with (domain.md §3.2); ``signed`` tells
    whether a ``ds:Signature`` is present (verification is another module's job, §5.3).
    """

    TYPE: ClassVar[NotificationType]

    flow: SdiFlow
    identificativo_sdi: str
    message_id: str | None
    pec_message_id: str | None
    note: str | None
    signed: bool

    @property
    def type(self) -> NotificationType:
        """The two-letter code used in file names (RC, NS, ...)."""
        return self.TYPE


@dataclass(frozen=True, slots=True)
class RicevutaConsegna(_SdiBase):
    """RC: the file was delivered to the recipient (``RicevutaConsegna``, both flows)."""

    TYPE: ClassVar[NotificationType] = NotificationType.RC

    nome_file: str
    hash: str | None  # B2B only, and missing from real 2018 B2B RCs (domain.md §3.2)
    data_ora_ricezione: datetime | None
    data_ora_consegna: datetime | None
    destinatario: Destinatario | None
    riferimento_archivio: RiferimentoArchivio | None
    intermediario_con_duplice_ruolo: bool
    flusso_semplificato: bool


@dataclass(frozen=True, slots=True)
class NotificaScarto(_SdiBase):
    """NS: SdI discarded the file (PA ``NotificaScarto``, B2B ``RicevutaScarto``)."""

    TYPE: ClassVar[NotificationType] = NotificationType.NS

    nome_file: str
    hash: str | None
    data_ora_ricezione: datetime | None
    riferimento_archivio: RiferimentoArchivio | None
    errori: tuple[Errore, ...]


@dataclass(frozen=True, slots=True)
class NotificaMancataConsegna(_SdiBase):
    """MC: not delivered (PA ``NotificaMancataConsegna``, B2B ``RicevutaImpossibilitaRecapito``).

    ``data_messa_a_disposizione`` (B2B) is when the invoice became available in the buyer's
    reserved area: from then on it is issued and valid (domain.md §3.3).
    """

    TYPE: ClassVar[NotificationType] = NotificationType.MC

    nome_file: str
    hash: str | None
    data_ora_ricezione: datetime | None
    data_messa_a_disposizione: date | None
    riferimento_archivio: RiferimentoArchivio | None
    descrizione: str | None


@dataclass(frozen=True, slots=True)
class EsitoCommittente(_SdiBase):
    """EC: the PA recipient's outcome (``NotificaEsitoCommittente``), also wrapped inside NE."""

    TYPE: ClassVar[NotificationType] = NotificationType.EC

    riferimento_fattura: RiferimentoFattura | None
    esito: Esito
    descrizione: str | None
    message_id_committente: str | None


@dataclass(frozen=True, slots=True)
class NotificaEsito(_SdiBase):
    """NE: SdI forwards the PA's EC to the transmitter (PA flow only)."""

    TYPE: ClassVar[NotificationType] = NotificationType.NE

    nome_file: str
    esito_committente: EsitoCommittente
    intermediario_con_duplice_ruolo: bool

    @property
    def esito(self) -> Esito:
        """Shortcut to the wrapped EC01/EC02."""
        return self.esito_committente.esito


@dataclass(frozen=True, slots=True)
class ScartoEsitoCommittente(_SdiBase):
    """SE: SdI refused the PA's EC (EN00/EN01)."""

    TYPE: ClassVar[NotificationType] = NotificationType.SE

    riferimento_fattura: RiferimentoFattura | None
    scarto: Scarto
    message_id_committente: str | None


@dataclass(frozen=True, slots=True)
class NotificaDecorrenzaTermini(_SdiBase):
    """DT: 15 days passed without a valid EC (not an acceptance, domain.md §3.3)."""

    TYPE: ClassVar[NotificationType] = NotificationType.DT

    riferimento_fattura: RiferimentoFattura | None
    nome_file: str
    descrizione: str | None
    intermediario_con_duplice_ruolo: bool


@dataclass(frozen=True, slots=True)
class AttestazioneTrasmissioneFattura(_SdiBase):
    """AT: transmitted but impossible to deliver to the PA; terminal (domain.md §3.3)."""

    TYPE: ClassVar[NotificationType] = NotificationType.AT

    nome_file: str
    data_ora_ricezione: datetime | None
    riferimento_archivio: RiferimentoArchivio | None
    destinatario: Destinatario | None
    hash_file_originale: str | None


@dataclass(frozen=True, slots=True)
class MetadatiInvioFile(_SdiBase):
    """MT: metadata sent with an incoming invoice (PA ``MetadatiInvioFile``, B2B
    ``FileMetadati``). Never signed; real B2B MTs lack ``Hash`` and ``CodiceDestinatario``."""

    TYPE: ClassVar[NotificationType] = NotificationType.MT

    nome_file: str
    hash: str | None
    codice_destinatario: str | None
    formato: str | None  # FPA12/FPR12; old PA examples say SDI10/SDI11
    tentativi_invio: int | None


SdiMessage = (
    RicevutaConsegna
    | NotificaScarto
    | NotificaMancataConsegna
    | NotificaEsito
    | EsitoCommittente
    | ScartoEsitoCommittente
    | NotificaDecorrenzaTermini
    | AttestazioneTrasmissioneFattura
    | MetadatiInvioFile
)
