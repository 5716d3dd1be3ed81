"""One FatturaElettronicaBody → its `DocumentView`: general data, lines, VAT summary, totals
(ritenuta, bollo, cassa), payment terms, attachments, causale.

Amounts are shown in the document's own Divisa. When ImportoTotaleDocumento is absent (it is
optional in the XSD) the total is computed from DatiRiepilogo (+ bollo) and labelled so.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from handlers.formats.fatturapa import (
    DatiDocumentiCorrelati,
    FatturaElettronicaBody,
    ScontoMaggiorazione,
)

from . import fmt, labels
from .blocks import Block, DocumentView, Fields, Notes, Table, blocks, kv
from .parties import party_name


def _refs(kind: str, refs: Iterable[DatiDocumentiCorrelati]) -> list[tuple[str, str]]:
    out = []
    for r in refs:
        parts = [r.id_documento or fmt.EMPTY]
        if r.data:
            parts.append(f"del {fmt.day(r.data)}")
        parts += [f"{k} {v}" for k, v in (("CIG", r.codice_cig), ("CUP", r.codice_cup),
                                          ("commessa", r.codice_commessa_convenzione)) if v]
        out.append((kind, " ".join(parts)))
    return out


def _sconti(items: Iterable[ScontoMaggiorazione], divisa: str | None) -> str:
    out = []
    for s in items:
        what = labels.TIPO_SCONTO.get(s.tipo, s.tipo)
        amount = fmt.rate(s.percentuale) if s.percentuale is not None else fmt.money(
            s.importo, divisa)
        out.append(f"{what} {amount}")
    return "; ".join(out)


def _general(b: FatturaElettronicaBody) -> Block:
    g = b.dati_generali
    d = g.dati_generali_documento
    items = list(kv(
        ("Tipo documento", labels.describe(labels.TIPO_DOCUMENTO, d.tipo_documento)),
        ("Numero", d.numero),
        ("Data", fmt.day(d.data)),
        ("Divisa", d.divisa),
        ("Sconti/maggiorazioni", _sconti(d.sconto_maggiorazione, d.divisa)),
        ("Art. 73", "SI" if d.art73 else None),
    ))
    items += _refs("Ordine d'acquisto", g.dati_ordine_acquisto)
    items += _refs("Contratto", g.dati_contratto)
    items += _refs("Convenzione", g.dati_convenzione)
    items += _refs("Ricezione", g.dati_ricezione)
    items += _refs("Fattura collegata", g.dati_fatture_collegate)
    items += [("DDT", f"{x.numero_ddt} del {fmt.day(x.data_ddt)}") for x in g.dati_ddt]
    if g.fattura_principale is not None:
        fp = g.fattura_principale
        items.append(("Fattura principale", f"{fp.numero_fattura_principale} del "
                                            f"{fmt.day(fp.data_fattura_principale)}"))
    return Fields("Dati generali", tuple(items))


def _line_text(line_descr: str | None, codes: Iterable[tuple[str, str]],
               start: object, end: object) -> str:
    text = line_descr or fmt.EMPTY
    extra = [f"{t} {v}" for t, v in codes]
    if start or end:
        extra.append(f"periodo {fmt.text(start)} - {fmt.text(end)}")
    return text + (f" [{'; '.join(extra)}]" if extra else "")


def _lines(b: FatturaElettronicaBody, divisa: str | None) -> Block:
    rows = []
    for ln in b.dati_beni_servizi.dettaglio_linee:
        qty = fmt.quantity(ln.quantita) if ln.quantita is not None else ""
        if qty and ln.unita_misura:
            qty += f" {ln.unita_misura}"
        iva = fmt.rate(ln.aliquota_iva)
        if ln.natura:
            iva += f" {ln.natura}"
        if ln.ritenuta:
            iva += " (rit.)"
        rows.append((
            fmt.text(ln.numero_linea),
            _line_text(ln.descrizione,
                       ((c.codice_tipo, c.codice_valore) for c in ln.codice_articolo),
                       ln.data_inizio_periodo, ln.data_fine_periodo),
            qty,
            fmt.money(ln.prezzo_unitario, divisa),
            _sconti(ln.sconto_maggiorazione, divisa),
            fmt.money(ln.prezzo_totale, divisa),
            iva,
        ))
    return Table("Dettaglio righe",
                 ("N.", "Descrizione", "Quantità", "Prezzo unitario", "Sconto/magg.",
                  "Prezzo totale", "IVA"),
                 tuple(rows), frozenset({0, 2, 3, 5, 6}), (6, 44, 12, 14, 10, 14, 10))


def _riepilogo(b: FatturaElettronicaBody, divisa: str | None) -> Block:
    rows = []
    for r in b.dati_beni_servizi.dati_riepilogo:
        what = fmt.rate(r.aliquota_iva)
        if r.natura:
            what += f" {labels.describe(labels.NATURA, r.natura)}"
        extra = [f"{k} {fmt.money(v, divisa)}" for k, v in (
            ("spese accessorie", r.spese_accessorie), ("arrotondamento", r.arrotondamento))
            if v is not None]
        rif = "; ".join([*( [r.riferimento_normativo] if r.riferimento_normativo else []),
                         *extra])
        rows.append((what, fmt.money(r.imponibile_importo, divisa),
                     fmt.money(r.imposta, divisa),
                     labels.ESIGIBILITA_IVA.get(r.esigibilita_iva or "", r.esigibilita_iva or ""),
                     rif))
    return Table("Riepilogo IVA",
                 ("Aliquota / natura", "Imponibile", "Imposta", "Esigibilità", "Note"),
                 tuple(rows), frozenset({1, 2}), (30, 16, 14, 14, 26))


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    got = [v for v in values if isinstance(v, Decimal) and v.is_finite()]
    return sum(got, Decimal(0)) if got else None


def document_total(b: FatturaElettronicaBody) -> tuple[Decimal | None, bool]:
    """ImportoTotaleDocumento, else Σ imponibile + imposta (+ bollo); True when computed."""
    d = b.dati_generali.dati_generali_documento
    if d.importo_totale_documento is not None:
        return d.importo_totale_documento, False
    riepilogo = b.dati_beni_servizi.dati_riepilogo
    total = _sum([r.imponibile_importo for r in riepilogo] + [r.imposta for r in riepilogo])
    bollo = d.dati_bollo.importo_bollo if d.dati_bollo else None
    if total is not None and bollo is not None and bollo.is_finite():
        total += bollo
    return total, True


def _totals(b: FatturaElettronicaBody, divisa: str | None) -> Block:
    d = b.dati_generali.dati_generali_documento
    riepilogo = b.dati_beni_servizi.dati_riepilogo
    total, computed = document_total(b)
    items: list[tuple[str, str]] = [
        ("Totale imponibile", fmt.money(_sum(r.imponibile_importo for r in riepilogo), divisa)),
        ("Totale IVA", fmt.money(_sum(r.imposta for r in riepilogo), divisa)),
    ]
    for c in d.dati_cassa_previdenziale:
        items.append((f"Contributo {labels.describe(labels.TIPO_CASSA, c.tipo_cassa)}",
                      f"{fmt.rate(c.al_cassa)} su {fmt.money(c.imponibile_cassa, divisa)} = "
                      f"{fmt.money(c.importo_contributo_cassa, divisa)} "
                      f"(IVA {fmt.rate(c.aliquota_iva)}{' ' + c.natura if c.natura else ''}"
                      f"{', soggetto a ritenuta' if c.ritenuta else ''})"))
    if d.dati_bollo is not None:
        items.append(("Bollo virtuale", fmt.money(d.dati_bollo.importo_bollo, divisa)
                      if d.dati_bollo.importo_bollo is not None else "SI"))
    if d.arrotondamento is not None:
        items.append(("Arrotondamento", fmt.money(d.arrotondamento, divisa)))
    items.append(("Totale documento" + (" (calcolato)" if computed else ""),
                  fmt.money(total, divisa)))
    for r in d.dati_ritenuta:
        items.append((f"Ritenuta {labels.describe(labels.TIPO_RITENUTA, r.tipo_ritenuta)}",
                      f"{fmt.rate(r.aliquota_ritenuta)}, causale {r.causale_pagamento}: "
                      f"- {fmt.money(r.importo_ritenuta, divisa)}"))
    pay = _sum(p.importo_pagamento for dp in b.dati_pagamento for p in dp.dettaglio_pagamento)
    if pay is not None:
        items.append(("Totale da pagare", fmt.money(pay, divisa)))
    return Fields("Totali", tuple(items))


def _payments(b: FatturaElettronicaBody, divisa: str | None) -> Block | None:
    rows = []
    for dp in b.dati_pagamento:
        cond = labels.describe(labels.CONDIZIONI_PAGAMENTO, dp.condizioni_pagamento)
        for p in dp.dettaglio_pagamento:
            bank = "; ".join(x for x in (
                p.istituto_finanziario, f"IBAN {p.iban}" if p.iban else None,
                f"BIC {p.bic}" if p.bic else None, p.beneficiario,
                f"cod. {p.codice_pagamento}" if p.codice_pagamento else None) if x)
            due = fmt.day(p.data_scadenza_pagamento)
            if p.data_scadenza_pagamento is None and p.giorni_termini_pagamento is not None:
                due = f"{p.giorni_termini_pagamento} gg"
                if p.data_riferimento_termini_pagamento:
                    due += f" da {fmt.day(p.data_riferimento_termini_pagamento)}"
            rows.append((cond, labels.describe(labels.MODALITA_PAGAMENTO,
                                               p.modalita_pagamento),
                         due, fmt.money(p.importo_pagamento, divisa), bank))
    if not rows:
        return None
    return Table("Pagamento", ("Condizioni", "Modalità", "Scadenza", "Importo", "Coordinate"),
                 tuple(rows), frozenset({3}), (18, 20, 14, 16, 32))


def _attachments(b: FatturaElettronicaBody) -> Block | None:
    if not b.allegati:
        return None
    rows = tuple((a.nome_attachment or fmt.EMPTY, a.formato_attachment or "",
                  a.descrizione_attachment or "",
                  fmt.size(len(a.attachment)) if a.attachment is not None else fmt.EMPTY)
                 for a in b.allegati)
    return Table("Allegati", ("Nome", "Formato", "Descrizione", "Dimensione"), rows,
                 frozenset({3}), (34, 12, 40, 14))


def _transport(b: FatturaElettronicaBody) -> Block | None:
    t = b.dati_generali.dati_trasporto
    if t is None:
        return None
    vettore = t.dati_anagrafici_vettore
    return Fields("Trasporto", kv(
        ("Vettore", party_name(vettore.anagrafica) if vettore else None),
        ("Mezzo", t.mezzo_trasporto), ("Causale", t.causale_trasporto),
        ("Colli", fmt.text(t.numero_colli)), ("Descrizione", t.descrizione),
        ("Peso lordo", fmt.text(t.peso_lordo)), ("Peso netto", fmt.text(t.peso_netto)),
        ("Data inizio trasporto", fmt.day(t.data_inizio_trasporto)),
        ("Resa", t.tipo_resa),
    ))


def _causale(b: FatturaElettronicaBody) -> Block | None:
    causale = tuple(c for c in b.dati_generali.dati_generali_documento.causale if c)
    return Notes("Causale", causale) if causale else None


def document(b: FatturaElettronicaBody, n: int, lot: bool) -> DocumentView:
    try:
        d = b.dati_generali.dati_generali_documento
        tipo = labels.TIPO_DOCUMENTO.get(d.tipo_documento, d.tipo_documento or "Documento")
        heading = f"{tipo} n. {d.numero or fmt.EMPTY} del {fmt.day(d.data)}"
        divisa: str | None = d.divisa
        total = fmt.money(document_total(b)[0], divisa)
    except (AttributeError, TypeError, ValueError, ArithmeticError):
        heading, divisa, total = "Documento", None, fmt.EMPTY
    if lot:
        heading = f"{n}. {heading}"
    parts = blocks(
        ("Dati generali", lambda: _general(b)),
        ("Dettaglio righe", lambda: _lines(b, divisa)),
        ("Riepilogo IVA", lambda: _riepilogo(b, divisa)),
        ("Totali", lambda: _totals(b, divisa)),
        ("Pagamento", lambda: _payments(b, divisa)),
        ("Trasporto", lambda: _transport(b)),
        ("Allegati", lambda: _attachments(b)),
        ("Causale", lambda: _causale(b)),
    )
    return DocumentView(heading, total, parts)


