"""Build SdI messages (RC NS MC NE DT AT SE MT) as XML bytes, in the shape SdI writes them.

For the sandbox (issue 4), which plays SdI. Input is the same typed value `sdi.parse_sdi_message`
returns (`sdi_types`), so build → parse round-trips. Shape copied from the real B2B messages
(domain.md §3.1–3.2, §5.3): root prefix ``ns3`` plus an unused ``ns2`` xmldsig declaration (JAXB),
unqualified children indented by 4 spaces in XSD order, dates ``2018-11-13T16:47:26.000+01:00``
in Italian time, the XAdES signature in SdI's profile appended last (`sdi_sign`); MT unsigned with
``standalone="yes"``. PA roots (``.../sdi/messaggi/v1.0``) or B2B roots
(``.../docs/xsd/fattura/messaggi/v1.0``) by ``flow``; B2B-only fields (Hash, Suggerimento,
DataMessaADisposizione) are written only in the B2B flow, where the XSD has them. `sdi_mail`
wraps the files in the PEC envelope SdI's provider sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from handlers.formats.filenames import NotificationType, notification_file_name
from handlers.formats.sdi_dates import ITALY
from handlers.formats.sdi_sign import sign_sdi_profile
from handlers.formats.sdi_types import (
    NS_B2B,
    NS_PA,
    AttestazioneTrasmissioneFattura,
    Destinatario,
    EsitoCommittente,
    MetadatiInvioFile,
    NotificaDecorrenzaTermini,
    NotificaEsito,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    RiferimentoArchivio,
    RiferimentoFattura,
    ScartoEsitoCommittente,
    SdiFlow,
    SdiMessage,
)
from handlers.formats.sig_common import Signer
from handlers.formats.xades import DS

__all__ = ["SdiFile", "build_sdi_file", "build_sdi_message", "file_hash", "root_name"]

# (type, flow) -> root local name: the two tables of domain.md §3.1.
_ROOTS: dict[tuple[type[SdiMessage], SdiFlow], str] = {
    (RicevutaConsegna, SdiFlow.PA): "RicevutaConsegna",
    (NotificaScarto, SdiFlow.PA): "NotificaScarto",
    (NotificaMancataConsegna, SdiFlow.PA): "NotificaMancataConsegna",
    (NotificaEsito, SdiFlow.PA): "NotificaEsito",
    (ScartoEsitoCommittente, SdiFlow.PA): "ScartoEsitoCommittente",
    (NotificaDecorrenzaTermini, SdiFlow.PA): "NotificaDecorrenzaTermini",
    (AttestazioneTrasmissioneFattura, SdiFlow.PA): "AttestazioneTrasmissioneFattura",
    (MetadatiInvioFile, SdiFlow.PA): "MetadatiInvioFile",
    (RicevutaConsegna, SdiFlow.B2B): "RicevutaConsegna",
    (NotificaScarto, SdiFlow.B2B): "RicevutaScarto",
    (NotificaMancataConsegna, SdiFlow.B2B): "RicevutaImpossibilitaRecapito",
    (MetadatiInvioFile, SdiFlow.B2B): "FileMetadati",
}


def root_name(message: SdiMessage) -> str:
    """Root element local name for ``message`` in its flow; `ValueError` if the flow has none
    (NE/DT/AT/SE exist only in the PA flow; EC is the PA's, built by `sdi_ec`)."""
    name = _ROOTS.get((type(message), message.flow))
    if name is None:
        raise ValueError(f"SdI sends no {type(message).__name__} in the {message.flow} flow")
    return name


def file_hash(content: bytes) -> str:
    """``Hash``/``HashFileOriginale``: lowercase hex SHA-256 of the file as transmitted (§3.2)."""
    return hashlib.sha256(content).hexdigest()


def _datetime(value: dt.datetime) -> str:
    # Real SdI: Italian local time, milliseconds, numeric offset (domain.md §3.2).
    local = (value if value.tzinfo else value.replace(tzinfo=ITALY)).astimezone(ITALY)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


class _Writer:
    """Appends unqualified children in XSD order, skipping absent optional values."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root

    def text(self, name: str, value: object, parent: etree._Element | None = None) -> None:
        if value is None:
            return
        if isinstance(value, dt.datetime):
            value = _datetime(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        etree.SubElement(self.root if parent is None else parent, name).text = str(value)

    def required(self, name: str, value: object) -> None:
        if value is None:
            raise ValueError(f"<{etree.QName(self.root).localname}> needs <{name}>")
        self.text(name, value)

    def destinatario(self, value: Destinatario | None) -> None:
        node = etree.SubElement(self.root, "Destinatario")  # real B2B RCs: <Destinatario/>
        if value is not None:
            self.text("Codice", value.codice, node)
            self.text("Descrizione", value.descrizione, node)

    def archivio(self, value: RiferimentoArchivio | None) -> None:
        if value is not None:
            node = etree.SubElement(self.root, "RiferimentoArchivio")
            self.text("IdentificativoSdI", value.identificativo_sdi, node)
            self.text("NomeFile", value.nome_file, node)

    def fattura(self, value: RiferimentoFattura | None, parent: etree._Element | None = None
                ) -> None:
        if value is not None:
            node = etree.SubElement(self.root if parent is None else parent, "RiferimentoFattura")
            self.text("NumeroFattura", value.numero_fattura, node)
            self.text("AnnoFattura", value.anno_fattura, node)
            self.text("PosizioneFattura", value.posizione_fattura, node)

    def tail(self, message: SdiMessage, *, pec: bool = True) -> None:
        self.required("MessageId", message.message_id)
        if pec:
            self.text("PecMessageId", message.pec_message_id)
        self.text("Note", message.note)


def _esito(parent: etree._Element, ec: EsitoCommittente) -> None:
    node = etree.SubElement(parent, "EsitoCommittente", {"versione": "1.0"})
    w = _Writer(node)
    w.text("IdentificativoSdI", ec.identificativo_sdi)
    w.fattura(ec.riferimento_fattura)
    w.text("Esito", ec.esito.value)
    w.text("Descrizione", ec.descrizione)
    w.text("MessageIdCommittente", ec.message_id_committente)


def _body(w: _Writer, m: SdiMessage) -> None:
    b2b = m.flow is SdiFlow.B2B
    w.text("IdentificativoSdI", m.identificativo_sdi)
    if isinstance(m, RicevutaConsegna):
        w.text("NomeFile", m.nome_file)
        w.text("Hash", m.hash if b2b else None)
        w.required("DataOraRicezione", m.data_ora_ricezione)
        w.required("DataOraConsegna", m.data_ora_consegna)
        w.destinatario(m.destinatario)
        w.archivio(m.riferimento_archivio)
    elif isinstance(m, NotificaScarto):
        w.text("NomeFile", m.nome_file)
        w.text("Hash", m.hash if b2b else None)
        w.required("DataOraRicezione", m.data_ora_ricezione)
        w.archivio(m.riferimento_archivio)
        if not m.errori:
            raise ValueError("a scarto needs at least one Errore (ListaErrori 1..200)")
        lista = etree.SubElement(w.root, "ListaErrori")
        for e in m.errori:
            node = etree.SubElement(lista, "Errore")
            w.text("Codice", e.codice, node)
            w.text("Descrizione", e.descrizione or "", node)
            if b2b:  # mandatory in the B2B Errore_Type, absent from the PA one
                w.text("Suggerimento", e.suggerimento or "", node)
    elif isinstance(m, NotificaMancataConsegna):
        w.text("NomeFile", m.nome_file)
        w.text("Hash", m.hash if b2b else None)
        w.required("DataOraRicezione", m.data_ora_ricezione)
        if b2b:
            w.required("DataMessaADisposizione", m.data_messa_a_disposizione)
        w.archivio(m.riferimento_archivio)
        w.text("Descrizione", m.descrizione)
    elif isinstance(m, NotificaEsito):
        w.text("NomeFile", m.nome_file)
        _esito(w.root, m.esito_committente)
    elif isinstance(m, ScartoEsitoCommittente):
        w.fattura(m.riferimento_fattura)
        w.text("Scarto", m.scarto.value)
        w.required("MessageId", m.message_id)
        w.text("MessageIdCommittente", m.message_id_committente)
        w.text("PecMessageId", m.pec_message_id)
        w.text("Note", m.note)
        return
    elif isinstance(m, NotificaDecorrenzaTermini):
        w.fattura(m.riferimento_fattura)
        w.text("NomeFile", m.nome_file)
        w.text("Descrizione", m.descrizione)
    elif isinstance(m, AttestazioneTrasmissioneFattura):
        w.text("NomeFile", m.nome_file)
        w.required("DataOraRicezione", m.data_ora_ricezione)
        w.archivio(m.riferimento_archivio)
        w.destinatario(m.destinatario)
        w.tail(m)
        w.required("HashFileOriginale", m.hash_file_originale)
        return
    elif isinstance(m, MetadatiInvioFile):
        w.text("NomeFile", m.nome_file)
        w.text("Hash", m.hash if b2b else None)
        # mandatory in both XSDs, yet missing from real 2018 B2B MTs (domain.md §3.2)
        w.text("CodiceDestinatario", m.codice_destinatario)
        w.required("Formato", m.formato)
        w.required("TentativiInvio", m.tentativi_invio)
        w.tail(m, pec=False)
        return
    w.tail(m)


_DUPLICE = (RicevutaConsegna, NotificaEsito, NotificaDecorrenzaTermini)


def build_sdi_message(
    message: SdiMessage, signer: Signer | None, *, signing_time: dt.datetime | None = None
) -> bytes:
    """The XML bytes of ``message`` as SdI sends it.

    Every type but MT is XAdES-signed in SdI's profile with ``signer`` at ``signing_time``
    (required then); ``signer=None`` gives an unsigned message like the official examples.
    ``message.signed`` is ignored: the output is signed iff a signer is given (never for MT).
    """
    ns = NS_B2B if message.flow is SdiFlow.B2B else NS_PA
    root = etree.Element(f"{{{ns}}}{root_name(message)}", nsmap={"ns3": ns, "ns2": DS})
    # Attribute order as in the XSDs/examples: flags first, then versione.
    pa, b2b = message.flow is SdiFlow.PA, message.flow is SdiFlow.B2B
    if pa and isinstance(message, _DUPLICE) and message.intermediario_con_duplice_ruolo:
        root.set("IntermediarioConDupliceRuolo", "Si")
    if b2b and isinstance(message, RicevutaConsegna) and message.flusso_semplificato:
        root.set("FlussoSemplificato", "Si")
    root.set("versione", "1.0")
    _body(_Writer(root), message)
    etree.indent(root, space="    ")
    if isinstance(message, MetadatiInvioFile):
        body = bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False))
        return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body + b"\n"
    if signer is not None:
        if signing_time is None:
            raise ValueError("signing_time is required to sign (no clock in pure code)")
        sign_sdi_profile(root, signer, signing_time)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + bytes(etree.tostring(root, encoding="UTF-8"))


@dataclass(frozen=True, slots=True)
class SdiFile:
    """One file as SdI attaches it: its name (``<stem>_<TT>_<nnn>.xml|.zip``) and bytes."""

    name: str
    content: bytes


def build_sdi_file(
    message: SdiMessage,
    invoice_file_name: str,
    counter: int | str,
    signer: Signer | None,
    *,
    signing_time: dt.datetime | None = None,
    invoice: bytes | None = None,
) -> SdiFile:
    """``message`` named after ``invoice_file_name`` with the per-file ``counter`` (counts all
    messages about that file, domain.md §2). An AT is a zip of the original ``invoice`` and
    the signed AT XML (§2 [C]), named ``..._AT_nnn.zip``."""
    kind = message.type
    xml = build_sdi_message(message, signer, signing_time=signing_time)
    if kind is not NotificationType.AT:
        return SdiFile(notification_file_name(invoice_file_name, kind, counter), xml)
    if invoice is None:
        raise ValueError("an AT zip carries the original invoice file: pass invoice=")
    zip_name = notification_file_name(invoice_file_name, kind, counter)
    when = (signing_time or dt.datetime(1980, 1, 1, tzinfo=ITALY)).astimezone(ITALY)
    return SdiFile(zip_name, _zip([(invoice_file_name, invoice),
                                   (zip_name[: -len(".zip")] + ".xml", xml)], when))


def _zip(members: Sequence[tuple[str, bytes]], when: dt.datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)  # fixed time: deterministic bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
