"""Parse SdI messages (RC NS MC NE EC SE DT AT MT, PA and B2B namespaces) into typed values.

Dispatch is on (namespace, root local name), never on the file name or the prefix (domain.md
§3.1). Parsing is deliberately lenient about what the XSDs call mandatory, because real SdI
messages violate their own schemas (§3.2: B2B RC/MT without ``Hash``, MT without
``CodiceDestinatario``, unsigned official examples); only what no consumer can do without
(IdentificativoSdI, NomeFile, Esito, Scarto) is required. The EC builder lives in `sdi_ec` and
is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypedDict

from lxml import etree

from handlers.formats import xmlsafe
from handlers.formats.sdi_dates import ITALY, parse_sdi_date, parse_sdi_datetime
from handlers.formats.sdi_ec import build_esito_committente, ec_file_name
from handlers.formats.sdi_types import (
    NS_B2B,
    NS_PA,
    AttestazioneTrasmissioneFattura,
    Destinatario,
    Errore,
    Esito,
    EsitoCommittente,
    MalformedSdiMessage,
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
    UnknownSdiMessage,
)

__all__ = [
    "ITALY",
    "MAX_SDI_MESSAGE_BYTES",
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
    "build_esito_committente",
    "ec_file_name",
    "parse_sdi_datetime",
    "parse_sdi_message",
]

#: SdI messages are a few KB (200 errors with 2000-char suggestions stay well under 1 MB).
MAX_SDI_MESSAGE_BYTES = 2 * 1024 * 1024

_DS = "http://www.w3.org/2000/09/xmldsig#"

# --- small tree helpers (children are unqualified in both XSDs, but a default namespace on the
# --- root would qualify them, so match on local name only) ------------------------------------


def _local(node: etree._Element) -> str:
    return str(etree.QName(node).localname)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    for node in parent:
        if isinstance(node.tag, str) and _local(node) == name:
            return node
    return None


def _text(parent: etree._Element | None, name: str) -> str | None:
    if parent is None:
        return None
    node = _child(parent, name)
    if node is None:
        return None
    text = "".join(node.itertext()).strip()
    return text or None


def _required(parent: etree._Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise MalformedSdiMessage(f"<{_local(parent)}> lacks <{name}>")
    return value


def _int(parent: etree._Element | None, name: str) -> int | None:
    value = _text(parent, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise MalformedSdiMessage(f"<{name}> is not an integer: {value!r}") from None


def _yes(root: etree._Element, attribute: str) -> bool:
    return (root.get(attribute) or "").strip().lower() == "si"


# --- dates ------------------------------------------------------------------------------------


def _datetime(parent: etree._Element, name: str) -> datetime | None:
    value = _text(parent, name)
    if value is None:
        return None
    try:
        return parse_sdi_datetime(value)
    except ValueError as exc:
        raise MalformedSdiMessage(f"<{name}>: {exc}") from None


def _date(parent: etree._Element, name: str) -> date | None:
    value = _text(parent, name)
    if value is None:
        return None
    try:
        return parse_sdi_date(value)
    except ValueError:
        raise MalformedSdiMessage(f"<{name}> is not an xsd:date: {value!r}") from None


# --- shared blocks ------------------------------------------------------------------------------


class _Common(TypedDict):
    flow: SdiFlow
    identificativo_sdi: str
    message_id: str | None
    pec_message_id: str | None
    note: str | None
    signed: bool


def _common(root: etree._Element, flow: SdiFlow) -> _Common:
    return {
        "flow": flow,
        "identificativo_sdi": _required(root, "IdentificativoSdI"),
        "message_id": _text(root, "MessageId"),
        "pec_message_id": _text(root, "PecMessageId"),
        "note": _text(root, "Note"),
        "signed": any(
            isinstance(n.tag, str) and etree.QName(n).namespace == _DS and _local(n) == "Signature"
            for n in root
        ),
    }


def _destinatario(root: etree._Element) -> Destinatario | None:
    node = _child(root, "Destinatario")
    if node is None:
        return None
    return Destinatario(_text(node, "Codice"), _text(node, "Descrizione"))


def _riferimento_archivio(root: etree._Element) -> RiferimentoArchivio | None:
    node = _child(root, "RiferimentoArchivio")
    if node is None:
        return None
    return RiferimentoArchivio(_required(node, "IdentificativoSdI"), _required(node, "NomeFile"))


def _riferimento_fattura(root: etree._Element) -> RiferimentoFattura | None:
    node = _child(root, "RiferimentoFattura")
    if node is None:
        return None
    anno = _int(node, "AnnoFattura")
    if anno is None:
        raise MalformedSdiMessage("<RiferimentoFattura> lacks <AnnoFattura>")
    return RiferimentoFattura(
        _required(node, "NumeroFattura"), anno, _int(node, "PosizioneFattura")
    )


def _errori(root: etree._Element) -> tuple[Errore, ...]:
    lista = _child(root, "ListaErrori")
    if lista is None:
        return ()
    return tuple(
        Errore(_required(e, "Codice"), _text(e, "Descrizione"), _text(e, "Suggerimento"))
        for e in lista
        if isinstance(e.tag, str) and _local(e) == "Errore"
    )


def _esito(root: etree._Element) -> Esito:
    value = _required(root, "Esito")
    try:
        return Esito(value)
    except ValueError:
        raise MalformedSdiMessage(f"<Esito> must be EC01 or EC02, not {value!r}") from None


def _scarto(root: etree._Element) -> Scarto:
    value = _required(root, "Scarto")
    try:
        return Scarto(value)
    except ValueError:
        raise MalformedSdiMessage(f"<Scarto> must be EN00 or EN01, not {value!r}") from None


# --- one builder per root -------------------------------------------------------------------


def _rc(root: etree._Element, flow: SdiFlow) -> RicevutaConsegna:
    return RicevutaConsegna(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        hash=_text(root, "Hash"),
        data_ora_ricezione=_datetime(root, "DataOraRicezione"),
        data_ora_consegna=_datetime(root, "DataOraConsegna"),
        destinatario=_destinatario(root),
        riferimento_archivio=_riferimento_archivio(root),
        intermediario_con_duplice_ruolo=_yes(root, "IntermediarioConDupliceRuolo"),
        flusso_semplificato=_yes(root, "FlussoSemplificato"),
    )


def _ns(root: etree._Element, flow: SdiFlow) -> NotificaScarto:
    return NotificaScarto(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        hash=_text(root, "Hash"),
        data_ora_ricezione=_datetime(root, "DataOraRicezione"),
        riferimento_archivio=_riferimento_archivio(root),
        errori=_errori(root),
    )


def _mc(root: etree._Element, flow: SdiFlow) -> NotificaMancataConsegna:
    return NotificaMancataConsegna(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        hash=_text(root, "Hash"),
        data_ora_ricezione=_datetime(root, "DataOraRicezione"),
        data_messa_a_disposizione=_date(root, "DataMessaADisposizione"),
        riferimento_archivio=_riferimento_archivio(root),
        descrizione=_text(root, "Descrizione"),
    )


def _ec(root: etree._Element, flow: SdiFlow) -> EsitoCommittente:
    return EsitoCommittente(
        **_common(root, flow),
        riferimento_fattura=_riferimento_fattura(root),
        esito=_esito(root),
        descrizione=_text(root, "Descrizione"),
        message_id_committente=_text(root, "MessageIdCommittente"),
    )


def _ne(root: etree._Element, flow: SdiFlow) -> NotificaEsito:
    wrapped = _child(root, "EsitoCommittente")
    if wrapped is None:
        raise MalformedSdiMessage("<NotificaEsito> lacks <EsitoCommittente>")
    return NotificaEsito(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        esito_committente=_ec(wrapped, flow),
        intermediario_con_duplice_ruolo=_yes(root, "IntermediarioConDupliceRuolo"),
    )


def _se(root: etree._Element, flow: SdiFlow) -> ScartoEsitoCommittente:
    return ScartoEsitoCommittente(
        **_common(root, flow),
        riferimento_fattura=_riferimento_fattura(root),
        scarto=_scarto(root),
        message_id_committente=_text(root, "MessageIdCommittente"),
    )


def _dt(root: etree._Element, flow: SdiFlow) -> NotificaDecorrenzaTermini:
    return NotificaDecorrenzaTermini(
        **_common(root, flow),
        riferimento_fattura=_riferimento_fattura(root),
        nome_file=_required(root, "NomeFile"),
        descrizione=_text(root, "Descrizione"),
        intermediario_con_duplice_ruolo=_yes(root, "IntermediarioConDupliceRuolo"),
    )


def _at(root: etree._Element, flow: SdiFlow) -> AttestazioneTrasmissioneFattura:
    return AttestazioneTrasmissioneFattura(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        data_ora_ricezione=_datetime(root, "DataOraRicezione"),
        riferimento_archivio=_riferimento_archivio(root),
        destinatario=_destinatario(root),
        hash_file_originale=_text(root, "HashFileOriginale"),
    )


def _mt(root: etree._Element, flow: SdiFlow) -> MetadatiInvioFile:
    return MetadatiInvioFile(
        **_common(root, flow),
        nome_file=_required(root, "NomeFile"),
        hash=_text(root, "Hash"),
        codice_destinatario=_text(root, "CodiceDestinatario"),
        formato=_text(root, "Formato"),
        tentativi_invio=_int(root, "TentativiInvio"),
    )


# (namespace, root local name) -> builder: the two tables of domain.md §3.1.
_BUILDERS: dict[tuple[str, str], tuple[SdiFlow, Callable[[etree._Element, SdiFlow], SdiMessage]]]
_BUILDERS = {
    (NS_PA, "RicevutaConsegna"): (SdiFlow.PA, _rc),
    (NS_PA, "NotificaScarto"): (SdiFlow.PA, _ns),
    (NS_PA, "NotificaMancataConsegna"): (SdiFlow.PA, _mc),
    (NS_PA, "NotificaEsito"): (SdiFlow.PA, _ne),
    (NS_PA, "NotificaEsitoCommittente"): (SdiFlow.PA, _ec),
    (NS_PA, "ScartoEsitoCommittente"): (SdiFlow.PA, _se),
    (NS_PA, "NotificaDecorrenzaTermini"): (SdiFlow.PA, _dt),
    (NS_PA, "AttestazioneTrasmissioneFattura"): (SdiFlow.PA, _at),
    (NS_PA, "MetadatiInvioFile"): (SdiFlow.PA, _mt),
    (NS_B2B, "RicevutaConsegna"): (SdiFlow.B2B, _rc),
    (NS_B2B, "RicevutaScarto"): (SdiFlow.B2B, _ns),
    (NS_B2B, "RicevutaImpossibilitaRecapito"): (SdiFlow.B2B, _mc),
    (NS_B2B, "FileMetadati"): (SdiFlow.B2B, _mt),
}


def parse_sdi_message(data: bytes) -> SdiMessage:
    """Parse one SdI message file.

    Raise `MalformedSdiMessage` for bytes that are not safe well-formed XML (the xmlsafe error is
    the ``__cause__``) or a known message missing a vital field; `UnknownSdiMessage` for
    well-formed XML with another root/namespace (an invoice, a daticert, a future message type).
    """
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_SDI_MESSAGE_BYTES)
    except (xmlsafe.UnsafeXml, xmlsafe.MalformedXml) as exc:
        raise MalformedSdiMessage(f"SdI message unreadable: {exc}") from exc
    qname = etree.QName(root)
    entry = _BUILDERS.get((qname.namespace or "", qname.localname))
    if entry is None:
        raise UnknownSdiMessage(
            f"not an SdI message: root <{qname.localname}> in namespace {qname.namespace!r}"
        )
    flow, build = entry
    return build(root, flow)
