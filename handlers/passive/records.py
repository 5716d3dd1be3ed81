"""A received invoice model → flat records to store: one per body, with lines, parties as
written, VAT summaries, payment terms and attachments.

Field names equal the column names of ``store/models_passive.py``, so the applier copies them
without a mapping table. A received file is untrusted input: the reader leaves missing
mandatory elements as None (render/view.py), so every access here is guarded and a body that
lacks what identifies it (seller id, type, number, date: SdI's 00404 key, domain.md §1.4)
raises `Unidentifiable`, which quarantines the envelope with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.formats.fatturapa import (
    Anagrafica,
    ExtractedAttachment,
    FatturaElettronica,
    FatturaElettronicaBody,
    Indirizzo,
)

ZERO = Decimal("0")


class Unidentifiable(ValueError):
    """A body lacks the elements that identify an invoice."""


@dataclass(frozen=True, slots=True)
class LineRecord:
    """One DettaglioLinee (``passive_line``)."""

    numero_linea: int
    descrizione: str
    quantita: Decimal | None
    unita_misura: str | None
    prezzo_unitario: Decimal
    prezzo_totale: Decimal
    aliquota_iva: Decimal
    natura: str | None


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """A party as the invoice writes it (``passive_party``)."""

    role: str  # seller | buyer | seller-representative | issuer
    id_paese: str | None
    id_codice: str | None
    codice_fiscale: str | None
    name: str | None
    address: dict[str, Any] | None
    email: str | None


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """One DatiRiepilogo (``passive_summary``)."""

    aliquota_iva: Decimal
    natura: str | None
    imponibile: Decimal
    imposta: Decimal
    esigibilita_iva: str | None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One DettaglioPagamento with its CondizioniPagamento (``passive_payment``)."""

    condizioni: str
    modalita: str
    scadenza: date | None
    importo: Decimal
    iban: str | None
    beneficiario: str | None


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """One Allegati: the decoded bytes go to the archive, the rest to ``passive_attachment``."""

    safe_name: str
    original_name: str | None
    data: bytes
    formato: str | None
    descrizione: str | None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """One body (``passive_invoice``) and what hangs off it."""

    position: int
    seller_country: str
    seller_code: str
    seller_name: str
    buyer_name: str | None
    tipo_documento: str
    numero: str
    data: date
    anno: int
    divisa: str
    importo_totale: Decimal | None
    imponibile: Decimal
    imposta: Decimal
    causale: str | None
    lines: tuple[LineRecord, ...]
    parties: tuple[PartyRecord, ...]
    summaries: tuple[SummaryRecord, ...]
    payments: tuple[PaymentRecord, ...]
    attachments: tuple[AttachmentRecord, ...]

    @property
    def identity(self) -> tuple[str, str, int, str, str]:
        """SdI's duplicate key: seller id, year, number, type (00404)."""
        return (self.seller_country, self.seller_code, self.anno, self.numero,
                self.tipo_documento)


def _name(a: Anagrafica | None) -> str | None:
    if a is None:
        return None
    if a.denominazione:
        return a.denominazione
    joined = " ".join(p for p in (a.titolo, a.nome, a.cognome) if p)
    return joined or None


def _address(i: Indirizzo | None) -> dict[str, Any] | None:
    if i is None:
        return None
    return {"indirizzo": i.indirizzo, "numero_civico": i.numero_civico, "cap": i.cap,
            "comune": i.comune, "provincia": i.provincia, "nazione": i.nazione}


def parties(invoice: FatturaElettronica) -> tuple[PartyRecord, ...]:
    """The parties of the header, exactly as written."""
    h = invoice.header
    out: list[PartyRecord] = []
    seller = h.cedente_prestatore
    if seller is not None and seller.dati_anagrafici is not None:
        d = seller.dati_anagrafici
        iva = d.id_fiscale_iva
        out.append(PartyRecord(
            "seller", iva.id_paese if iva else None, iva.id_codice if iva else None,
            d.codice_fiscale, _name(d.anagrafica), _address(seller.sede),
            seller.contatti.email if seller.contatti else None))
    buyer = h.cessionario_committente
    if buyer is not None and buyer.dati_anagrafici is not None:
        b = buyer.dati_anagrafici
        biva = b.id_fiscale_iva
        out.append(PartyRecord(
            "buyer", biva.id_paese if biva else None, biva.id_codice if biva else None,
            b.codice_fiscale, _name(b.anagrafica), _address(buyer.sede), None))
    rep = h.rappresentante_fiscale
    if rep is not None and rep.dati_anagrafici is not None:
        r = rep.dati_anagrafici
        riva = r.id_fiscale_iva
        out.append(PartyRecord(
            "seller-representative", riva.id_paese if riva else None,
            riva.id_codice if riva else None, r.codice_fiscale, _name(r.anagrafica), None,
            None))
    terzo = h.terzo_intermediario_o_soggetto_emittente
    if terzo is not None and terzo.dati_anagrafici is not None:
        t = terzo.dati_anagrafici
        tiva = t.id_fiscale_iva
        out.append(PartyRecord(
            "issuer", tiva.id_paese if tiva else None, tiva.id_codice if tiva else None,
            t.codice_fiscale, _name(t.anagrafica), None, None))
    return tuple(out)


def _lines(body: FatturaElettronicaBody) -> tuple[LineRecord, ...]:
    dbs = body.dati_beni_servizi
    return tuple(
        LineRecord(ln.numero_linea, ln.descrizione or "", ln.quantita, ln.unita_misura,
                   ln.prezzo_unitario if ln.prezzo_unitario is not None else ZERO,
                   ln.prezzo_totale if ln.prezzo_totale is not None else ZERO,
                   ln.aliquota_iva if ln.aliquota_iva is not None else ZERO, ln.natura)
        for ln in (dbs.dettaglio_linee if dbs else ())
    )


def _summaries(body: FatturaElettronicaBody) -> tuple[SummaryRecord, ...]:
    dbs = body.dati_beni_servizi
    return tuple(
        SummaryRecord(r.aliquota_iva if r.aliquota_iva is not None else ZERO, r.natura,
                      r.imponibile_importo if r.imponibile_importo is not None else ZERO,
                      r.imposta if r.imposta is not None else ZERO, r.esigibilita_iva)
        for r in (dbs.dati_riepilogo if dbs else ())
    )


def _payments(body: FatturaElettronicaBody) -> tuple[PaymentRecord, ...]:
    return tuple(
        PaymentRecord(p.condizioni_pagamento, d.modalita_pagamento, d.data_scadenza_pagamento,
                      d.importo_pagamento if d.importo_pagamento is not None else ZERO,
                      d.iban, d.beneficiario)
        for p in body.dati_pagamento
        for d in p.dettaglio_pagamento
    )


def invoice_records(
    invoice: FatturaElettronica, attachments: list[ExtractedAttachment]
) -> tuple[InvoiceRecord, ...]:
    """One `InvoiceRecord` per body; raise `Unidentifiable` when a body cannot be keyed."""
    seller = invoice.header.cedente_prestatore if invoice.header else None
    anag = seller.dati_anagrafici if seller else None
    iva = anag.id_fiscale_iva if anag else None
    if iva is None or not iva.id_paese or not iva.id_codice:
        raise Unidentifiable("the seller has no IdFiscaleIVA")
    seller_name = _name(anag.anagrafica if anag else None) or f"{iva.id_paese}{iva.id_codice}"
    buyer = invoice.header.cessionario_committente
    buyer_name = _name(buyer.dati_anagrafici.anagrafica) if buyer and buyer.dati_anagrafici \
        else None
    everyone = parties(invoice)
    out: list[InvoiceRecord] = []
    for position, body in enumerate(invoice.bodies or (), 1):
        dg = body.dati_generali.dati_generali_documento if body.dati_generali else None
        if dg is None or not dg.tipo_documento or not dg.numero or dg.data is None:
            raise Unidentifiable(f"body {position} lacks TipoDocumento, Numero or Data")
        summaries = _summaries(body)
        out.append(InvoiceRecord(
            position=position, seller_country=iva.id_paese, seller_code=iva.id_codice,
            seller_name=seller_name[:200], buyer_name=buyer_name[:200] if buyer_name else None,
            tipo_documento=dg.tipo_documento, numero=dg.numero, data=dg.data,
            anno=dg.data.year, divisa=dg.divisa or "EUR",
            importo_totale=dg.importo_totale_documento,
            imponibile=sum((s.imponibile for s in summaries), ZERO),
            imposta=sum((s.imposta for s in summaries), ZERO),
            causale=" ".join(dg.causale) or None,
            lines=_lines(body), parties=everyone, summaries=summaries,
            payments=_payments(body),
            attachments=tuple(
                AttachmentRecord(a.safe_name, a.original_name, a.data, a.format, a.description)
                for a in attachments if a.body_index == position),
        ))
    if not out:
        raise Unidentifiable("the file has no FatturaElettronicaBody")
    return tuple(out)
