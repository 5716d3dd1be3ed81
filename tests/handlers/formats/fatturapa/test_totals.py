"""compute_riepilogo: grouping per (AliquotaIVA, Natura), half-up rounding, cassa, Natura lines."""

from __future__ import annotations

from decimal import Decimal

from handlers.formats.fatturapa import (
    DatiCassaPrevidenziale,
    ScontoMaggiorazione,
    apply_sconti,
    compute_riepilogo,
    importo_totale_documento,
    round_cents,
    validate,
)

from .factory import body, invoice, line

D = Decimal


def test_half_up_not_bankers() -> None:
    assert round_cents(D("0.125")) == D("0.13")  # banker's rounding would give 0.12
    assert round_cents(D("2.675")) == D("2.68")
    assert round_cents(D("-0.125")) == D("-0.13")


def test_imposta_rounds_half_up_from_rounded_base() -> None:
    # 0.625 x 22% = 0.1375 ; base rounds to 0.63 ; 0.63 x 22% = 0.1386 -> 0.14
    (r,) = compute_riepilogo([line(prezzo="0.625", qty="1.00")])
    assert (r.imponibile_importo, r.imposta) == (D("0.63"), D("0.14"))
    # a half-cent tax: 2.50 x 10% = 0.25 exact; 0.05 x 10% = 0.005 -> 0.01 (half-up)
    (r,) = compute_riepilogo([line(prezzo="0.05", rate="10.00")])
    assert r.imposta == D("0.01")


def test_several_rates_and_natura_lines_in_first_appearance_order() -> None:
    lines = [line(1, "100.00", rate="22.00"), line(2, "50.00", rate="10.00"),
             line(3, "33.333", rate="22.00"), line(4, "20.00", rate="0.00", natura="N2.1"),
             line(5, "5.00", rate="0.00", natura="N4"), line(6, "1.00", rate="0.00",
                                                            natura="N2.1")]
    rs = compute_riepilogo(lines, esigibilita_iva="I",
                           riferimenti_normativi={"N2.1": "Art. 7-ter DPR 633/72"})
    got = [(r.aliquota_iva, r.natura, r.imponibile_importo, r.imposta, r.esigibilita_iva,
            r.riferimento_normativo) for r in rs]
    assert got == [
        (D("22.00"), None, D("133.33"), D("29.33"), "I", None),
        (D("10.00"), None, D("50.00"), D("5.00"), "I", None),
        (D("0.00"), "N2.1", D("21.00"), D("0.00"), None, "Art. 7-ter DPR 633/72"),
        (D("0.00"), "N4", D("5.00"), D("0.00"), None, None),
    ]


def test_cassa_contribution_joins_its_rate_group() -> None:
    cassa = DatiCassaPrevidenziale(tipo_cassa="TC22", al_cassa=D("4.00"),
                                   importo_contributo_cassa=D("4.60"), aliquota_iva=D("22.00"))
    (r,) = compute_riepilogo([line(1, "100.00"), line(2, "15.00")], [cassa])
    assert (r.imponibile_importo, r.imposta) == (D("119.60"), D("26.31"))  # as ref ITBNCMRA


def test_generated_riepilogo_passes_00421_00422_00423() -> None:
    lines = tuple(line(n, p, qty="3.00") for n, p in enumerate(
        ["0.33333333", "1.005", "2.675", "19.99"], 1))
    inv = invoice(body(lines))
    assert validate(inv) == []


def test_sconti_cascade_and_totals() -> None:
    chain = [ScontoMaggiorazione(tipo="SC", percentuale=D("10.00")),
             ScontoMaggiorazione(tipo="SC", importo=D("1.00")),
             ScontoMaggiorazione(tipo="MG", percentuale=D("5.00"))]
    assert apply_sconti(D("100.00"), chain) == D("93.45")  # (100*0.9 - 1) * 1.05
    rs = compute_riepilogo([line(1, "10.00")])
    assert importo_totale_documento(rs, D("2.00")) == D("14.20")
