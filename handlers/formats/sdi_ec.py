"""Build the EC (``NotificaEsitoCommittente``) a PA recipient sends to SdI, and name its file.

Only the PA flow has an EC (domain.md §3.1, §3.3): within 15 days of the RC the PA accepts
(EC01) or refuses (EC02) the invoice; SdI validates it (SE if not) and forwards it as NE. The
output validates against ``MessaggiTypes_v1.1.xsd``; inputs are checked against the XSD facets
here, so a bad value fails now with a clear message instead of coming back days later as SE/EN00.
"""

from __future__ import annotations

import re

from lxml import etree

from handlers.formats.filenames import NotificationType, notification_file_name
from handlers.formats.sdi_types import NS_PA, Esito, RiferimentoFattura

__all__ = ["build_esito_committente", "ec_file_name"]

# XSD facets of MessaggiTypes_v1.1.xsd (PA flow).
_IDENTIFICATIVO_SDI = re.compile(r"[0-9]{1,12}")  # xsd:integer, totalDigits 12
_BASIC_LATIN = re.compile(r"[\x20-\x7e]{1,20}")  # NumeroFattura: \p{IsBasicLatin}{1,20}, normalized
_MAX_DESCRIZIONE = 255
_MAX_MESSAGE_ID = 14
# XML 1.0 Char production: anything else cannot be written at all.
_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _check_text(value: str, what: str, max_length: int) -> str:
    if not value or len(value) > max_length:
        raise ValueError(f"{what} must be 1..{max_length} characters")
    if _XML_CHARS.search(value):
        raise ValueError(f"{what} contains characters XML cannot carry")
    return value


def build_esito_committente(
    identificativo_sdi: str | int,
    riferimento_fattura: RiferimentoFattura | None,
    esito: Esito | str,
    descrizione: str | None = None,
    message_id_committente: str | None = None,
) -> bytes:
    """Return the UTF-8 bytes of an unsigned EC for the invoice file ``identificativo_sdi``.

    ``riferimento_fattura`` narrows the outcome to one invoice of a lot (None = the whole file);
    ``descrizione`` (≤255 chars) explains a refusal; ``message_id_committente`` (≤14 chars) is
    the PA's own id for this EC. Raise `ValueError` for values the XSD would reject.
    """
    ident = str(identificativo_sdi).strip()
    if not _IDENTIFICATIVO_SDI.fullmatch(ident):
        raise ValueError(f"IdentificativoSdI must be 1..12 digits: {identificativo_sdi!r}")
    esito = Esito(esito)

    root = etree.Element(f"{{{NS_PA}}}NotificaEsitoCommittente", nsmap={"types": NS_PA})
    root.set("versione", "1.0")
    # Children are unqualified: the XSD has elementFormDefault="unqualified".
    etree.SubElement(root, "IdentificativoSdI").text = ident
    if riferimento_fattura is not None:
        numero = riferimento_fattura.numero_fattura
        if not _BASIC_LATIN.fullmatch(numero):
            raise ValueError(f"NumeroFattura must be 1..20 printable ASCII chars: {numero!r}")
        anno = riferimento_fattura.anno_fattura
        if isinstance(anno, bool) or anno < 0:
            raise ValueError(f"AnnoFattura must be a non-negative integer: {anno!r}")
        posizione = riferimento_fattura.posizione_fattura
        if posizione is not None and (isinstance(posizione, bool) or posizione < 1):
            raise ValueError(f"PosizioneFattura must be a positive integer: {posizione!r}")
        block = etree.SubElement(root, "RiferimentoFattura")
        etree.SubElement(block, "NumeroFattura").text = numero
        etree.SubElement(block, "AnnoFattura").text = str(anno)
        if posizione is not None:
            etree.SubElement(block, "PosizioneFattura").text = str(posizione)
    etree.SubElement(root, "Esito").text = esito.value
    if descrizione is not None:
        text = _check_text(descrizione, "Descrizione", _MAX_DESCRIZIONE)
        etree.SubElement(root, "Descrizione").text = text
    if message_id_committente is not None:
        text = _check_text(message_id_committente, "MessageIdCommittente", _MAX_MESSAGE_ID)
        etree.SubElement(root, "MessageIdCommittente").text = text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def ec_file_name(invoice_file_name: str, counter: int | str) -> str:
    """Name of the EC about ``invoice_file_name``: ``<stem>_EC_<nnn>.xml`` (domain.md §2).

    ``counter`` is the per-file message counter (see `filenames.notification_file_name`).
    """
    return notification_file_name(invoice_file_name, NotificationType.EC, counter)
