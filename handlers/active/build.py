"""Build the FatturaPA model of an invoice from its `Draft` and the address-book parties.

Line totals and the VAT summary are computed with the codec's own arithmetic (`compute_riepilogo`,
`expected_prezzo_totale`: the functions SdI's checks 00421-00423 are verified with), so what we
build is what we validate. FPA12 for a PA customer, FPR12 otherwise (domain.md §1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from handlers.active.draft import Draft, Line
from handlers.active.parties import FOREIGN, PA, PartyData
from handlers.formats import fatturapa as fp


@dataclass(frozen=True, slots=True)
class Numbering:
    """What the store assigned: Numero, Data, the file's ProgressivoInvio, the corrected one."""

    numero: str
    data: date
    progressivo: str
    corrects: tuple[str, date] | None = None  # (Numero, Data) of the invoice a TD04 corrects


def _anagrafica(p: PartyData) -> fp.Anagrafica:
    if p.denominazione:
        return fp.Anagrafica(denominazione=p.denominazione)
    return fp.Anagrafica(nome=p.nome, cognome=p.cognome)


def _sede(p: PartyData) -> fp.Indirizzo:
    return fp.Indirizzo(
        indirizzo=p.indirizzo,
        numero_civico=p.numero_civico,
        # Foreign addresses have no Italian CAP: 00000 is the customary placeholder.
        cap=p.cap if p.nazione == "IT" else (p.cap if p.cap.isdigit() and len(p.cap) == 5
                                              else "00000"),
        comune=p.comune,
        provincia=p.provincia if p.nazione == "IT" else None,
        nazione=p.nazione,
    )


def _id(p: PartyData) -> fp.IdFiscale | None:
    if p.id_paese and p.id_codice:
        return fp.IdFiscale(id_paese=p.id_paese, id_codice=p.id_codice)
    return None


def _line(n: int, spec: Line) -> fp.DettaglioLinee:
    sconti: tuple[fp.ScontoMaggiorazione, ...] = ()
    if spec.discount_percent:
        sconti = (fp.ScontoMaggiorazione(tipo="SC", percentuale=Decimal(spec.discount_percent)),)
    line = fp.DettaglioLinee(
        numero_linea=n,
        descrizione=spec.description,
        quantita=Decimal(spec.quantity) if spec.quantity else None,
        unita_misura=spec.unit,
        prezzo_unitario=Decimal(spec.unit_price),
        sconto_maggiorazione=sconti,
        prezzo_totale=Decimal(0),
        aliquota_iva=Decimal(spec.vat).quantize(Decimal("0.01")),
        natura=spec.nature,
    )
    return replace(line, prezzo_totale=fp.round_cents(fp.expected_prezzo_totale(line)))


def _pagamento(draft: Draft, total: Decimal) -> tuple[fp.DatiPagamento, ...]:
    if draft.payment is None:
        return ()
    pay = draft.payment
    return (fp.DatiPagamento(
        condizioni_pagamento=pay.terms,
        dettaglio_pagamento=(fp.DettaglioPagamento(
            modalita_pagamento=pay.method,
            data_scadenza_pagamento=date.fromisoformat(pay.due) if pay.due else None,
            importo_pagamento=total,
            iban=pay.iban,
        ),),
    ),)


def build(draft: Draft, *, seller: PartyData, customer: PartyData,
          numbering: Numbering) -> fp.FatturaElettronica:
    """The complete invoice model (not yet validated: `fp.validate` says what SdI would say)."""
    pa = customer.kind == PA
    formato = "FPA12" if pa else "FPR12"
    code = customer.recipient_code()
    transmitter = _id(seller)
    assert transmitter is not None, "seller profiles are checked before building"
    header = fp.FatturaElettronicaHeader(
        dati_trasmissione=fp.DatiTrasmissione(
            id_trasmittente=transmitter,
            progressivo_invio=numbering.progressivo,
            formato_trasmissione=formato,
            codice_destinatario=code,
            pec_destinatario=customer.pec_destinatario if code == "0000000" else None,
        ),
        cedente_prestatore=fp.CedentePrestatore(
            dati_anagrafici=fp.DatiAnagraficiCedente(
                id_fiscale_iva=transmitter,
                codice_fiscale=seller.codice_fiscale,
                anagrafica=_anagrafica(seller),
                regime_fiscale=seller.regime_fiscale or "RF01",
            ),
            sede=_sede(seller),
        ),
        cessionario_committente=fp.CessionarioCommittente(
            dati_anagrafici=fp.DatiAnagraficiCessionario(
                id_fiscale_iva=_id(customer),
                codice_fiscale=customer.codice_fiscale if customer.kind != FOREIGN else None,
                anagrafica=_anagrafica(customer),
            ),
            sede=_sede(customer),
        ),
    )
    lines = tuple(_line(n, spec) for n, spec in enumerate(draft.lines, 1))
    riepilogo = fp.compute_riepilogo(
        lines, esigibilita_iva=draft.esigibilita,
        riferimenti_normativi=draft.riferimento_normativo or None,
    )
    total = fp.importo_totale_documento(riepilogo)
    collegate: tuple[fp.DatiDocumentiCorrelati, ...] = ()
    if numbering.corrects is not None:
        numero, data = numbering.corrects
        collegate = (fp.DatiDocumentiCorrelati(id_documento=numero, data=data),)
    ordini: tuple[fp.DatiDocumentiCorrelati, ...] = ()
    if draft.cig or draft.cup or draft.order_id:
        ordini = (fp.DatiDocumentiCorrelati(
            id_documento=draft.order_id or numbering.numero, codice_cig=draft.cig,
            codice_cup=draft.cup),)
    body = fp.FatturaElettronicaBody(
        dati_generali=fp.DatiGenerali(
            dati_generali_documento=fp.DatiGeneraliDocumento(
                tipo_documento=draft.tipo,
                divisa="EUR",
                data=numbering.data,
                numero=numbering.numero,
                importo_totale_documento=total,
                causale=draft.causale,
            ),
            dati_ordine_acquisto=ordini,
            dati_fatture_collegate=collegate,
        ),
        dati_beni_servizi=fp.DatiBeniServizi(dettaglio_linee=lines, dati_riepilogo=riepilogo),
        dati_pagamento=_pagamento(draft, total),
    )
    return fp.FatturaElettronica(versione=formato, header=header, bodies=(body,))


def total_of(invoice: fp.FatturaElettronica) -> Decimal:
    """ImportoTotaleDocumento of the (single) body."""
    value = invoice.bodies[0].dati_generali.dati_generali_documento.importo_totale_documento
    return value if value is not None else Decimal(0)
