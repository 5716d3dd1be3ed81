"""Build small valid invoices for the tests (model objects, not XML)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.formats.fatturapa import (
    Anagrafica,
    CedentePrestatore,
    CessionarioCommittente,
    DatiAnagraficiCedente,
    DatiAnagraficiCessionario,
    DatiBeniServizi,
    DatiGenerali,
    DatiGeneraliDocumento,
    DatiTrasmissione,
    DettaglioLinee,
    FatturaElettronica,
    FatturaElettronicaBody,
    FatturaElettronicaHeader,
    IdFiscale,
    Indirizzo,
    compute_riepilogo,
)

D = Decimal
SELLER = IdFiscale(id_paese="IT", id_codice="01234567890")
BUYER = IdFiscale(id_paese="IT", id_codice="09876543210")
SEDE = Indirizzo(indirizzo="VIA ROMA 1", cap="00100", comune="ROMA", provincia="RM", nazione="IT")


def line(
    n: int = 1,
    prezzo: str = "10.00",
    qty: str | None = "1.00",
    rate: str = "22.00",
    natura: str | None = None,
    **kw: Any,
) -> DettaglioLinee:
    q = D(qty) if qty is not None else None
    total = D(prezzo) * (q if q is not None else 1)
    return DettaglioLinee(
        numero_linea=n,
        descrizione=f"Riga {n}",
        quantita=q,
        prezzo_unitario=D(prezzo),
        prezzo_totale=kw.pop("totale", total),
        aliquota_iva=D(rate),
        natura=natura,
        **kw,
    )


def body(
    lines: tuple[DettaglioLinee, ...] | None = None,
    *,
    numero: str = "1",
    tipo: str = "TD01",
    data: date = date(2024, 3, 1),
    riepilogo: Any = None,
    dgd: dict[str, Any] | None = None,
    generali: dict[str, Any] | None = None,
) -> FatturaElettronicaBody:
    lines = lines or (line(),)
    casse = (dgd or {}).get("dati_cassa_previdenziale", ())
    doc = DatiGeneraliDocumento(
        tipo_documento=tipo, divisa="EUR", data=data, numero=numero, **(dgd or {})
    )
    return FatturaElettronicaBody(
        dati_generali=DatiGenerali(dati_generali_documento=doc, **(generali or {})),
        dati_beni_servizi=DatiBeniServizi(
            dettaglio_linee=lines,
            dati_riepilogo=riepilogo
            if riepilogo is not None
            else compute_riepilogo(lines, casse, esigibilita_iva="I"),
        ),
    )


def invoice(
    *bodies: FatturaElettronicaBody,
    formato: str = "FPR12",
    codice: str = "ABC1234",
    pec: str | None = None,
    seller: IdFiscale = SELLER,
    buyer: IdFiscale | None = BUYER,
    buyer_cf: str | None = None,
    versione: str | None = None,
) -> FatturaElettronica:
    header = FatturaElettronicaHeader(
        dati_trasmissione=DatiTrasmissione(
            id_trasmittente=seller,
            progressivo_invio="00001",
            formato_trasmissione=formato,
            codice_destinatario=codice,
            pec_destinatario=pec,
        ),
        cedente_prestatore=CedentePrestatore(
            dati_anagrafici=DatiAnagraficiCedente(
                id_fiscale_iva=seller,
                anagrafica=Anagrafica(denominazione="ALPHA SRL"),
                regime_fiscale="RF01",
            ),
            sede=SEDE,
        ),
        cessionario_committente=CessionarioCommittente(
            dati_anagrafici=DatiAnagraficiCessionario(
                id_fiscale_iva=buyer,
                codice_fiscale=buyer_cf,
                anagrafica=Anagrafica(nome="MARIO", cognome="ROSSI"),
            ),
            sede=SEDE,
        ),
    )
    return FatturaElettronica(
        versione=versione or formato, header=header, bodies=bodies or (body(),)
    )


def replace_in(obj: Any, path: str, value: Any) -> Any:
    """dataclasses.replace along a dotted path; ``name[i]`` indexes a tuple field."""
    head, _, rest = path.partition(".")
    name, _, idx = head.partition("[")
    current = getattr(obj, name)
    if idx:
        i = int(idx.rstrip("]"))
        items = list(current)
        items[i] = replace_in(items[i], rest, value) if rest else value
        return dataclasses.replace(obj, **{name: tuple(items)})
    new = replace_in(current, rest, value) if rest else value
    return dataclasses.replace(obj, **{name: new})
