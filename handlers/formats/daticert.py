"""Parse ``daticert.xml``, the machine-readable certification data of a PEC receipt or envelope.

Every PEC receipt/envelope carries a ``daticert.xml`` written by the provider (DM 2 novembre 2005,
technical annex; domain.md §4.2): what kind of certification it is, for which message (``msgid``),
when (local date + ``zona``), by which provider, and why delivery failed. No namespace, UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import TypeVar

from lxml import etree

from handlers.formats import xmlsafe

__all__ = [
    "MAX_DATICERT_BYTES",
    "Daticert",
    "DaticertErrore",
    "DaticertRecipient",
    "DaticertTipo",
    "MalformedDaticert",
    "RecipientKind",
    "TipoRicevuta",
    "normalize_message_id",
    "parse_daticert",
]

#: A daticert is a few hundred bytes; a large one is an attack or garbage.
MAX_DATICERT_BYTES = 256 * 1024


class MalformedDaticert(ValueError):
    """The bytes are not a usable daticert.xml (not XML, unsafe XML, wrong root, missing data)."""


class DaticertTipo(StrEnum):
    """``postacert/@tipo``: which certification this is (domain.md §4.2)."""

    ACCETTAZIONE = "accettazione"
    NON_ACCETTAZIONE = "non-accettazione"
    PRESA_IN_CARICO = "presa-in-carico"
    AVVENUTA_CONSEGNA = "avvenuta-consegna"
    POSTA_CERTIFICATA = "posta-certificata"  # the transport envelope itself
    ERRORE_CONSEGNA = "errore-consegna"
    PREAVVISO_ERRORE_CONSEGNA = "preavviso-errore-consegna"
    RILEVAZIONE_VIRUS = "rilevazione-virus"


class DaticertErrore(StrEnum):
    """``postacert/@errore``: failure class; ``nessuno`` when absent (the DTD default)."""

    NESSUNO = "nessuno"
    NO_DEST = "no-dest"
    NO_DOMINIO = "no-dominio"
    VIRUS = "virus"
    ALTRO = "altro"


class RecipientKind(StrEnum):
    """``destinatari/@tipo``: a PEC mailbox or an ordinary (non-certified) address."""

    CERTIFICATO = "certificato"
    ESTERNO = "esterno"


class TipoRicevuta(StrEnum):
    """Delivery-receipt flavour (``ricevuta/@tipo``, header ``X-TipoRicevuta``, domain.md §4.2)."""

    COMPLETA = "completa"  # postacert.eml is the full original
    BREVE = "breve"  # original with attachments replaced by their hashes
    SINTETICA = "sintetica"  # daticert only


@dataclass(frozen=True, slots=True)
class DaticertRecipient:
    """One ``destinatari`` entry."""

    address: str
    kind: RecipientKind


@dataclass(frozen=True, slots=True)
class Daticert:
    """The content of one daticert.xml.

    ``msgid`` is the Message-ID of the *original* message (ours, for receipts of mail we sent),
    normalised by `normalize_message_id` (no angle brackets) so it compares equal to the
    ``X-Riferimento-Message-ID`` header; ``identificativo`` is the provider's id of the message,
    which becomes the Message-ID of receipts, envelopes and postacert.eml.
    """

    tipo: DaticertTipo
    errore: DaticertErrore
    mittente: str
    destinatari: tuple[DaticertRecipient, ...]
    risposte: str | None
    oggetto: str | None
    gestore_emittente: str
    data: datetime  # aware: local time with the ``zona`` offset
    identificativo: str
    msgid: str | None
    ricevuta: TipoRicevuta | None
    consegna: str | None
    ricezione: tuple[str, ...]
    errore_esteso: str | None


def normalize_message_id(value: str | None) -> str | None:
    """Strip blanks and one pair of angle brackets: ``<a@b>`` → ``a@b``; empty → None.

    Message-IDs appear with brackets in headers and in daticert ``<msgid>`` (escaped) but without
    them in ``<identificativo>`` and SdI ``PecMessageId`` (domain.md §4.2); comparisons must use
    one form.
    """
    if value is None:
        return None
    text = "".join(value.split())  # folded headers may contain whitespace
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    return text or None


_E = TypeVar("_E", bound=StrEnum)


def _local(node: etree._Element) -> str:
    return str(etree.QName(node).localname)


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    # Match on local name: daticert has no namespace, but tolerating one costs nothing.
    return [c for c in parent if isinstance(c.tag, str) and _local(c) == name]


def _text(parent: etree._Element, name: str) -> str | None:
    found = _children(parent, name)
    if not found:
        return None
    text = "".join(found[0].itertext()).strip()
    return text or None


def _required(parent: etree._Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise MalformedDaticert(f"daticert lacks <{name}>")
    return value


def _enum(enum: type[_E], value: str, what: str) -> _E:
    try:
        return enum(value.strip())
    except ValueError:
        raise MalformedDaticert(f"unknown {what} {value!r}") from None


_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_ZONE = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _parse_data(node: etree._Element) -> datetime:
    # <data zona="+0100"><giorno>dd/mm/yyyy</giorno><ora>hh:mm:ss</ora></data>: local time in
    # Italian notation plus the UTC offset (domain.md §4.2).
    giorno, ora = _required(node, "giorno"), _required(node, "ora")
    zona = (node.get("zona") or "").strip()
    date_m, time_m, zone_m = _DATE.fullmatch(giorno), _TIME.fullmatch(ora), _ZONE.fullmatch(zona)
    if date_m is None or time_m is None or zone_m is None:
        raise MalformedDaticert(f"bad daticert date: {giorno!r} {ora!r} zona={zona!r}")
    sign = -1 if zone_m[1] == "-" else 1
    offset = timedelta(hours=int(zone_m[2]), minutes=int(zone_m[3]))
    try:
        return datetime(
            int(date_m[3]),
            int(date_m[2]),
            int(date_m[1]),
            int(time_m[1]),
            int(time_m[2]),
            int(time_m[3] or 0),
            tzinfo=timezone(sign * offset),
        )
    except ValueError as exc:
        raise MalformedDaticert(f"bad daticert date: {giorno!r} {ora!r} zona={zona!r}") from exc


def parse_daticert(data: bytes) -> Daticert:
    """Parse a daticert.xml; raise `MalformedDaticert` (with the XML error as cause) on failure."""
    try:
        root = xmlsafe.parse(data, max_bytes=MAX_DATICERT_BYTES)
    except (xmlsafe.UnsafeXml, xmlsafe.MalformedXml) as exc:
        raise MalformedDaticert(f"daticert.xml unreadable: {exc}") from exc
    if _local(root) != "postacert":
        raise MalformedDaticert(f"daticert root is <{_local(root)}>, expected <postacert>")
    tipo = _enum(DaticertTipo, root.get("tipo") or "", "daticert tipo")
    errore = _enum(DaticertErrore, root.get("errore") or "nessuno", "daticert errore")

    intestazione = _children(root, "intestazione")
    dati = _children(root, "dati")
    if not intestazione or not dati:
        raise MalformedDaticert("daticert lacks <intestazione> or <dati>")
    head, body = intestazione[0], dati[0]

    destinatari = []
    for node in _children(head, "destinatari"):
        address = "".join(node.itertext()).strip()
        if address:
            kind = _enum(RecipientKind, node.get("tipo") or "certificato", "destinatari tipo")
            destinatari.append(DaticertRecipient(address, kind))

    data_nodes = _children(body, "data")
    if not data_nodes:
        raise MalformedDaticert("daticert lacks <data>")
    ricevuta_nodes = _children(body, "ricevuta")
    ricevuta = None
    if ricevuta_nodes:
        # The DTD default of ricevuta/@tipo is "completa".
        ricevuta = _enum(TipoRicevuta, ricevuta_nodes[0].get("tipo") or "completa", "ricevuta tipo")

    return Daticert(
        tipo=tipo,
        errore=errore,
        mittente=_required(head, "mittente"),
        destinatari=tuple(destinatari),
        risposte=_text(head, "risposte"),
        oggetto=_text(head, "oggetto"),
        gestore_emittente=_required(body, "gestore-emittente"),
        data=_parse_data(data_nodes[0]),
        identificativo=normalize_message_id(_required(body, "identificativo")) or "",
        msgid=normalize_message_id(_text(body, "msgid")),
        ricevuta=ricevuta,
        consegna=_text(body, "consegna"),
        ricezione=tuple(
            text for n in _children(body, "ricezione") if (text := "".join(n.itertext()).strip())
        ),
        errore_esteso=_text(body, "errore-esteso"),
    )
