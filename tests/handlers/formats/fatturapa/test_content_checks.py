"""Each SdI content check: at least one failing and one passing invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.formats.fatturapa import (
    DatiCassaPrevidenziale,
    DatiDocumentiCorrelati,
    DatiRiepilogo,
    DatiRitenuta,
    FatturaElettronica,
    IdFiscale,
    ScontoMaggiorazione,
    check_structure,
    validate,
)

from .factory import BUYER, SELLER, body, invoice, line, replace_in

D = Decimal
RIT = DatiRitenuta(tipo_ritenuta="RT01", importo_ritenuta=D("2.00"),
                   aliquota_ritenuta=D("20.00"), causale_pagamento="A")
FOREIGN = IdFiscale(id_paese="GB", id_codice="GB99999999999")


def cassa(rate: str = "22.00", natura: str | None = None, ritenuta: str | None = None,
          amount: str = "0.40") -> DatiCassaPrevidenziale:
    return DatiCassaPrevidenziale(tipo_cassa="TC22", al_cassa=D("4.00"),
                                  importo_contributo_cassa=D(amount), aliquota_iva=D(rate),
                                  natura=natura, ritenuta=ritenuta)


def rie(rate: str, imponibile: str, imposta: str, natura: str | None = None,
        esig: str | None = None, arr: str | None = None) -> DatiRiepilogo:
    return DatiRiepilogo(aliquota_iva=D(rate), natura=natura, imponibile_importo=D(imponibile),
                         imposta=D(imposta), esigibilita_iva=esig,
                         arrotondamento=D(arr) if arr else None)


def sc(pct: str | None = None, imp: str | None = None) -> ScontoMaggiorazione:
    return ScontoMaggiorazione(tipo="SC", percentuale=D(pct) if pct else None,
                               importo=D(imp) if imp else None)


# (code, failing invoice, passing invoice)
CASES: list[tuple[str, FatturaElettronica, FatturaElettronica]] = [
    ("00400", invoice(body((line(rate="0.00"),), riepilogo=(rie("0.00", "10.00", "0.00", "N4"),))),
     invoice(body((line(rate="0.00", natura="N4"),)))),
    ("00401", invoice(body((line(natura="N4"),), riepilogo=(rie("22.00", "10.00", "2.20"),))),
     invoice(body((line(),)))),
    ("00411", invoice(body((line(ritenuta="SI"),))),
     invoice(body((line(ritenuta="SI"),), dgd={"dati_ritenuta": (RIT,)}))),
    ("00413", invoice(body(dgd={"dati_cassa_previdenziale": (cassa("0.00"),)},
                           riepilogo=(rie("22.00", "10.00", "2.20"),
                                      rie("0.00", "0.40", "0.00", "N4")))),
     invoice(body(dgd={"dati_cassa_previdenziale": (cassa("0.00", "N4"),)}))),
    ("00414", invoice(body(dgd={"dati_cassa_previdenziale": (cassa("22.00", "N4"),)},
                           riepilogo=(rie("22.00", "10.40", "2.29"),))),
     invoice(body(dgd={"dati_cassa_previdenziale": (cassa(),)}))),
    ("00415", invoice(body(dgd={"dati_cassa_previdenziale": (cassa(ritenuta="SI"),)})),
     invoice(body(dgd={"dati_cassa_previdenziale": (cassa(ritenuta="SI"),),
                       "dati_ritenuta": (RIT,)}))),
    ("00417", invoice(buyer=None), invoice(buyer=None, buyer_cf="RSSMRA80A01H501U")),
    ("00418", invoice(body(generali={"dati_fatture_collegate": (DatiDocumentiCorrelati(
        id_documento="7", data=date(2024, 3, 2)),)})),
     invoice(body(generali={"dati_fatture_collegate": (DatiDocumentiCorrelati(
         id_documento="7", data=date(2024, 3, 1)),)}))),
    ("00419", invoice(body((line(), line(2, rate="10.00")),
                           riepilogo=(rie("22.00", "10.00", "2.20"),))),
     invoice(body((line(), line(2, rate="10.00"))))),
    ("00420", invoice(body((line(rate="0.00", natura="N6.3"),),
                           riepilogo=(rie("0.00", "10.00", "0.00", "N6.3", "S"),))),
     invoice(body((line(rate="0.00", natura="N6.3"),),
                  riepilogo=(rie("0.00", "10.00", "0.00", "N6.3", "I"),)))),
    ("00421", invoice(body(riepilogo=(rie("22.00", "10.00", "2.22"),))),
     invoice(body(riepilogo=(rie("22.00", "10.00", "2.21"),)))),  # ±0.01 tolerated
    ("00422", invoice(body(riepilogo=(rie("22.00", "11.01", "2.42"),))),
     invoice(body(riepilogo=(rie("22.00", "11.00", "2.42"),)))),  # ±1.00 tolerated
    ("00423", invoice(body((line(qty="3.00", prezzo="3.33", totale=D("9.97")),))),
     invoice(body((line(qty="3.00", prezzo="3.33333333", totale=D("10.00")),)))),
    ("00424", invoice(body((line(rate="0.22"),))), invoice(body((line(rate="22.00"),)))),
    ("00425", invoice(body(numero="ABC/X")), invoice(body(numero="ABC/1"))),
    ("00426", invoice(pec="fatture@pec.example.it"),
     invoice(codice="0000000", pec="fatture@pec.example.it")),
    ("00427", invoice(codice="ABC123"), invoice(formato="FPA12", codice="ABC123")),
    ("00428", invoice(versione="FPA12", codice="ABC123"), invoice()),
    ("00429", invoice(body((line(rate="0.00", natura="N4"),),
                           riepilogo=(rie("0.00", "10.00", "0.00"),))),
     invoice(body((line(rate="0.00", natura="N4"),)))),
    ("00430", invoice(body(riepilogo=(rie("22.00", "10.00", "2.20", "N4"),))),
     invoice(body())),
    ("00437", invoice(body(dgd={"sconto_maggiorazione": (sc(),)})),
     invoice(body(dgd={"sconto_maggiorazione": (sc(pct="10.00"),)}))),
    ("00438", invoice(body((line(sconto_maggiorazione=(sc(),)),))),
     invoice(body((line(prezzo="10.00", sconto_maggiorazione=(sc(imp="1.00"),),
                        totale=D("9.00")),)))),
    ("00445", invoice(body((line(rate="0.00", natura="N2"),))),
     invoice(body((line(rate="0.00", natura="N2.2"),)))),
    ("00471", invoice(body(tipo="TD16"), buyer=SELLER), invoice(body(tipo="TD16"))),
    ("00472", invoice(body(tipo="TD27")), invoice(body(tipo="TD27"), buyer=SELLER)),
    ("00473", invoice(body(tipo="TD17")), invoice(body(tipo="TD17"), seller=FOREIGN)),
    ("00474", invoice(body((line(rate="0.00", natura="N3.5"),), tipo="TD21"), buyer=SELLER),
     invoice(body(tipo="TD21"), buyer=SELLER)),
    ("00475", invoice(body(tipo="TD18"), seller=FOREIGN, buyer=None, buyer_cf="RSSMRA80A01H501U"),
     invoice(body(tipo="TD18"), seller=FOREIGN, buyer=BUYER)),
    ("00409", invoice(body(numero="1"), body(numero="1")),
     invoice(body(numero="1"), body(numero="2"))),
]


@pytest.mark.parametrize(("code", "bad", "good"), CASES, ids=[c[0] for c in CASES])
def test_check_fails_then_passes(code: str, bad: FatturaElettronica,
                                 good: FatturaElettronica) -> None:
    assert check_structure(bad) == [] and check_structure(good) == []
    bad_codes = [f.code for f in validate(bad)]
    assert code in bad_codes
    assert code not in [f.code for f in validate(good)]
    finding = next(f for f in validate(bad) if f.code == code)
    assert finding.xpath.startswith("/FatturaElettronica/")
    assert finding.message_it and finding.message_en and finding.severity == "error"


def test_every_required_code_is_covered() -> None:
    required = {
        "00400", "00401", "00411", "00413", "00414", "00415", "00417", "00418", "00419",
        "00420", "00421", "00422", "00423", "00424", "00425", "00426", "00427", "00428",
        "00429", "00430", "00437", "00438", "00445", "00471", "00472", "00473", "00474",
        "00475",
    }
    assert required <= {c[0] for c in CASES}


def test_checks_skip_missing_mandatory_values() -> None:
    broken = replace_in(invoice(), "bodies[0].dati_beni_servizi.dettaglio_linee[0].aliquota_iva",
                        None)
    codes = [f.code for f in validate(broken)]
    assert "00200" in codes  # reported structurally, content checks did not crash


def test_lot_findings_point_at_the_right_body() -> None:
    inv = invoice(body(numero="1"), body((line(rate="0.22"),), numero="2"))
    found = [f.xpath for f in validate(inv) if f.code == "00424"]
    assert len(found) == 2  # the line and its summary
    assert all("/FatturaElettronicaBody[2]/" in x for x in found)
