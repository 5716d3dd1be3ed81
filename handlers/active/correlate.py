"""What an SdI notification says about a file we sent: correlation keys, event, sdiNN address.

Correlation order is domain.md §3.4: ``NomeFile`` (primary), then ``IdentificativoSdI``
(learned from the first SdI message about the file), then ``PecMessageId``; never the subject.
A notification about a zip names the zip in ``RiferimentoArchivio``: that name is a key too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from handlers.active.states import Event
from handlers.active.suggestions import suggestion
from handlers.formats.sdi_types import (
    AttestazioneTrasmissioneFattura,
    Esito,
    NotificaDecorrenzaTermini,
    NotificaEsito,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    SdiMessage,
)
from handlers.sdi_notifications import SdiNotification

_SDI_ADDRESS = re.compile(r"sdi[0-9]{2}@pec\.fatturapa\.it", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Keys:
    """How to find the transmission a notification is about, in the order to try them."""

    file_names: tuple[str, ...]
    identificativo_sdi: str | None
    pec_message_id: str | None


@dataclass(frozen=True, slots=True)
class Reading:
    """A notification about one of our files, reduced to what the active cycle needs."""

    keys: Keys
    event: Event
    summary: str  # one line for the history
    errors: tuple[tuple[str, str, str], ...]  # NS: (code, description, suggestion)
    at: datetime | None  # when SdI says it happened (delivery for RC), if it says
    sdi_address: str | None  # the sdiNN to use from now on, when the sender is one


def sdi_address(candidate: str | None) -> str | None:
    """``candidate`` lower-cased if it is an ``sdiNN@pec.fatturapa.it`` address (§4.1)."""
    if candidate and _SDI_ADDRESS.fullmatch(candidate.strip()):
        return candidate.strip().lower()
    return None


def _event(m: SdiMessage) -> Event | None:
    if isinstance(m, RicevutaConsegna):
        return Event.RC
    if isinstance(m, NotificaScarto):
        codes = {e.codice for e in m.errori}
        return Event.NS_DUPLICATE_NAME if codes == {"00002"} else Event.NS
    if isinstance(m, NotificaMancataConsegna):
        return Event.MC
    if isinstance(m, NotificaEsito):
        ok = m.esito_committente.esito is Esito.EC01
        return Event.NE_EC01 if ok else Event.NE_EC02
    if isinstance(m, NotificaDecorrenzaTermini):
        return Event.DT
    if isinstance(m, AttestazioneTrasmissioneFattura):
        return Event.AT
    return None  # SE, MT, EC: the passive cycle's business


def _summary(m: SdiMessage, event: Event) -> tuple[str, datetime | None]:
    if isinstance(m, RicevutaConsegna):
        return "consegnata", m.data_ora_consegna
    if isinstance(m, NotificaScarto):
        codes = ", ".join(e.codice for e in m.errori) or "-"
        return f"scartata da SdI ({codes})", m.data_ora_ricezione
    if isinstance(m, NotificaMancataConsegna):
        when = m.data_messa_a_disposizione
        extra = f", a disposizione dal {when.isoformat()}" if when else ""
        return f"mancata consegna{extra}", m.data_ora_ricezione
    if isinstance(m, NotificaEsito):
        ec = m.esito_committente
        text = "accettata dalla PA" if event is Event.NE_EC01 else "rifiutata dalla PA"
        return text + (f": {ec.descrizione}" if ec.descrizione else ""), None
    if isinstance(m, NotificaDecorrenzaTermini):
        return "decorrenza termini (nessun esito della PA in 15 giorni)", None
    if isinstance(m, AttestazioneTrasmissioneFattura):
        return "attestazione di avvenuta trasmissione con impossibilita' di recapito", (
            m.data_ora_ricezione
        )
    return event.value, None  # pragma: no cover - _event filtered the rest


def read(notification: SdiNotification) -> Reading | None:
    """The active cycle's view of ``notification``, or None when it is not about a file we
    send (SE, MT, EC)."""
    m = notification.message
    event = _event(m)
    if event is None:
        return None
    names = [getattr(m, "nome_file", None)]
    archive = getattr(m, "riferimento_archivio", None)
    if archive is not None:
        names.append(archive.nome_file)
    keys = Keys(
        file_names=tuple(n for n in names if n),
        identificativo_sdi=m.identificativo_sdi or None,
        pec_message_id=m.pec_message_id,
    )
    summary, at = _summary(m, event)
    errors: tuple[tuple[str, str, str], ...] = ()
    if isinstance(m, NotificaScarto):
        errors = tuple(
            (e.codice, e.descrizione or "", e.suggerimento or suggestion(e.codice))
            for e in m.errori
        )
    return Reading(keys, event, summary, errors, at, sdi_address(notification.sdi_address))
