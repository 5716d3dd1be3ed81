"""Render every real reference invoice to HTML and PDF and check what a reader must see.

Concrete values come from the files in ../shared/ref/invoices (SOURCES.md): party names,
numbers, dates, totals in Italian format. Plus: hostile text is escaped (HTML) or
transliterated (PDF), broken models still render, and the PDF bytes are reproducible.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal as D
from html import escape

import pytest

from handlers.formats import fatturapa as fp
from handlers.formats import p7m
from handlers.formats.fatturapa import Allegato, DatiBollo, DatiRitenuta
from handlers.formats.render import build_view, render_html, render_pdf
from handlers.formats.render.pdf import transliterate
from tests.handlers.formats.fatturapa import factory
from tests.handlers.formats.render._pdftext import pdf_text
from tests.support.ref import ref_bytes

RENDERABLE = [
    "IT01234567890_FPA01.xml", "IT01234567890_FPA02.xml", "IT01234567890_FPA03.xml",
    "IT01234567890_FPR01.xml", "IT01234567890_FPR02.xml", "IT01234567890_FPR03.xml",
    "IT01234567890_FPR03.xml.p7m", "IT01234567890_FPR03.base64.xml.p7m",
    "IT01234567890_FPR06.xml", "IT01234567890_x05mX.xml", "IT08973230967_6zZcm.xml",
    "ITBNCMRA80A01D548T_20001.xml",
]
# The model only holds FatturaPA 1.2: these two are refused by the reader, so there is
# nothing to render (identify/inspect reports them instead).
NOT_MODELLED = {"IT05979361218_002.xml.p7m": fp.UnsupportedFormat,
                "ZGEXQROO37831_anonimizzata.xml": fp.BrokenNamespace}

EXPECTED: dict[str, list[str]] = {
    "IT01234567890_FPA01.xml": [
        "ALPHA SRL", "AMMINISTRAZIONE BETA", "Fattura n. 123 del 18/01/2017",
        "TD01 - Fattura", "DESCRIZIONE DELLA FORNITURA", "5,00 €", "1,10 €", "6,10 €",
        "18/02/2017", "MP01 - Contanti", "TP01 - Pagamento a rate", "FPA12"],
    "IT01234567890_FPA03.xml": [
        "1. Fattura n. 12 del 18/01/2017", "2. Fattura n. 456 del 20/01/2017",
        "Lotto di 2 documenti", "30,50 €", "2.000,00 €", "440,00 €", "2.440,00 €",
        "MP19 - SEPA Direct Debit", "20/02/2017"],
    "IT01234567890_FPR01.xml": ["SOCIETA' ALPHA SRL", "DITTA BETA", "FPR12"],
    "IT01234567890_FPR06.xml": [
        "Nota di credito n. 123 del 09/01/2020", "TD04 - Nota di credito", "SCONTO",
        "-5,00 €", "15,00 €", "3,30 €", "18,30 €", "BETA GAMMA"],
    "IT01234567890_x05mX.xml": [
        "TD17 - Integrazione/autofattura per acquisto servizi dall'estero",
        "BEXS/2022/0009", "21/07/2022", "ALPHA SOCIETY", "Cose per UK", "542,00 GBP",
        "119,24 GBP", "661,24 GBP", "Autofattura inversione contabile."],
    "IT08973230967_6zZcm.xml": [
        "GAV spa", "SOCIETA' ALPHA SRL", "Fattura n. IT23-94115I-790 del 07/08/2023",
        "28,40 €", "23,27 €", "5,12 €", "MP08 - Carta di pagamento",
        "TP02 - Pagamento completo"],
    "ITBNCMRA80A01D548T_20001.xml": [
        "Avvocato Mario Bianchi", "BIZZ SRL", "Fattura n. 001 del 25/10/2020",
        "Contributo TC01 - Cassa forense (avvocati)", "4,00% su 115,00 € = 4,60 €",
        "Ritenuta RT01 - Ritenuta persone fisiche", "20,00%, causale A: - 23,00 €",
        "122,91 €", "MP05 - Bonifico", "30/09/2020", "Via Voltapaletto 12, 44121 Ferrara (FE)"],
    "IT01234567890_FPR03.xml.p7m": [
        "1. Fattura n. 123 del 18/12/2014", "2. Fattura n. 456 del 20/12/2014",
        "32,50 €", "2.440,00 €", "BETA GAMMA"],
}


def _invoice(name: str) -> fp.FatturaElettronica:
    data = ref_bytes("invoices", name)
    if name.endswith(".p7m"):
        data = p7m.unwrap(data).content
    return fp.parse(data)


@pytest.mark.parametrize("name", RENDERABLE)
def test_every_real_invoice_renders_to_html_and_pdf(name: str) -> None:
    inv = _invoice(name)
    page = render_html(inv, title=name)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f"<title>{escape(name)}</title>" in page
    assert page.count('<section class="documento">') == len(inv.bodies)
    seller = inv.header.cedente_prestatore.dati_anagrafici.anagrafica
    assert escape(seller.denominazione or seller.cognome or "") in page
    for body in inv.bodies:
        assert escape(body.dati_generali.dati_generali_documento.numero) in page
    pdf = render_pdf(inv, compress=False)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    for body in inv.bodies:
        assert body.dati_generali.dati_generali_documento.numero in text
    assert render_pdf(inv).startswith(b"%PDF-")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_key_values_in_both_outputs(name: str) -> None:
    inv = _invoice(name)
    page = render_html(inv)
    text = pdf_text(render_pdf(inv, compress=False))
    for want in EXPECTED[name]:
        assert escape(want) in page, want
        assert want in text, want


@pytest.mark.parametrize(("name", "error"), sorted(NOT_MODELLED.items()))
def test_unmodelled_real_files_are_refused_not_misrendered(
    name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        _invoice(name)


HOSTILE = "<script>alert('x')</script>&amp;\"<img src=x onerror=alert(1)>"


def _hostile_invoice() -> fp.FatturaElettronica:
    line = dataclasses.replace(factory.line(1), descrizione=HOSTILE)
    body = factory.body((line,), dgd={"causale": (HOSTILE,)})
    body = dataclasses.replace(body, allegati=(
        Allegato(nome_attachment="<b>x</b>.pdf", formato_attachment="PDF",
                 descrizione_attachment=HOSTILE, attachment=b"%PDF-1.4 fake"),))
    return factory.invoice(body)


def test_html_escapes_every_hostile_value() -> None:
    page = render_html(_hostile_invoice(), title=HOSTILE)
    assert "<script" not in page and "<img" not in page and "<b>x" not in page
    assert escape(HOSTILE) in page  # shown, as text
    assert page.count(escape(HOSTILE)) >= 4  # title, line, causale, attachment description
    assert "script-src" not in page and "default-src 'none'" in page  # CSP forbids scripts


def test_pdf_shows_hostile_text_as_text() -> None:
    text = pdf_text(render_pdf(_hostile_invoice(), compress=False))
    assert "<script>alert('x')</script>" in text


def test_pdf_transliterates_what_the_core_font_cannot_encode() -> None:
    assert transliterate("Perché € “ok” ő Ł ÿ") == "Perché € “ok” o ? ÿ"
    assert transliterate("a\u202eb\x00c\td 😀 → ≤") == "a b c d ? -> <="
    line = dataclasses.replace(factory.line(1), descrizione="Caffè € ő 😀 " + "W" * 1000)
    inv = factory.invoice(factory.body((line,)))
    text = pdf_text(render_pdf(inv, compress=False))
    assert "Caffè € o ?" in text


def test_pdf_bytes_are_deterministic_and_dated_by_the_caller() -> None:
    inv = _hostile_invoice()
    first, second = render_pdf(inv), render_pdf(inv)
    assert first == second
    plain = render_pdf(inv, compress=False)
    assert b"/CreationDate (D:20000101000000Z)" in plain
    assert datetime.now(UTC).strftime("D:%Y%m%d").encode() not in plain
    dated = render_pdf(inv, created=datetime(2026, 11, 28, tzinfo=UTC), compress=False)
    assert b"/CreationDate (D:20261128000000Z)" in dated


def test_bollo_ritenuta_attachments_and_computed_total() -> None:
    body = factory.body(
        (factory.line(1, "100.00"), factory.line(2, "50.00", rate="0.00", natura="N2.1")),
        dgd={"dati_bollo": DatiBollo(bollo_virtuale="SI", importo_bollo=D("2.00")),
             "dati_ritenuta": (DatiRitenuta(tipo_ritenuta="RT02", importo_ritenuta=D("4.00"),
                                            aliquota_ritenuta=D("4.00"),
                                            causale_pagamento="A"),)})
    body = dataclasses.replace(body, allegati=(
        Allegato(nome_attachment="ordine.pdf", formato_attachment="PDF",
                 descrizione_attachment="Ordine firmato", attachment=b"x" * 2048),))
    page = render_html(factory.invoice(body))
    for want in ("Bollo virtuale</dt><dd>2,00 €", "Totale documento (calcolato)</dt><dd>174,00 €",
                 "RT02 - Ritenuta persone giuridiche", "- 4,00 €", "N2.1 - Non soggette",
                 "ordine.pdf", "Ordine firmato", "2,0 kB", "<h3>Allegati</h3>"):
        assert want in page, want


@pytest.mark.parametrize(
    "path",
    ["header", "bodies[0].dati_generali", "bodies[0].dati_beni_servizi",
     "bodies[0].dati_beni_servizi.dettaglio_linee[0].prezzo_totale",
     "bodies[0].dati_generali.dati_generali_documento.importo_totale_documento"],
)
def test_broken_models_still_render(path: str) -> None:
    value = D("NaN") if path.endswith("importo_totale_documento") else None
    inv = factory.replace_in(factory.invoice(), path, value)
    page = render_html(inv)
    assert "</html>" in page
    assert render_pdf(inv).startswith(b"%PDF-")
    if value is None and path != "bodies[0].dati_beni_servizi.dettaglio_linee[0].prezzo_totale":
        assert "Dati mancanti" in page


def test_view_is_shared_by_both_outputs() -> None:
    view = build_view(_invoice("IT01234567890_FPA03.xml"))
    assert [d.total for d in view.documents] == ["30,50 €", "2.440,00 €"]
    assert view.title == "Lotto di 2 documenti"


def test_real_invoice_with_an_attachment_lists_it() -> None:
    # The SdI delivery envelope carries a real invoice with a PDF in Allegati (SOURCES.md).
    from handlers.formats import pec

    msg = pec.parse_pec(ref_bytes("pec", "sdi_invio-file_7339338_fattura-e-MT.eml"))
    assert msg.postacert is not None
    att = msg.postacert.attachment("IT02652600210_00007.xml")
    assert att is not None
    inv = fp.parse(att.content)
    page = render_html(inv)
    text = pdf_text(render_pdf(inv, compress=False))
    for want in ("FATT/2018/0003.pdf", "Fattura n. FATT/2018/0003 del 06/12/2018", "997,96 €"):
        assert escape(want) in page and want in text, want
    assert "<h3>Allegati</h3>" in page and "43,5 kB" in page
