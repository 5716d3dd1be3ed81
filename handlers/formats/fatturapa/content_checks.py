"""SdI content checks that can run locally (no Anagrafe tributaria, no IPA, no SdI history).

One function per family of SdI error codes (domain.md §1.4). Wording follows the SdI "Elenco
controlli"; where domain.md has no entry or only a paraphrase, the rule is implemented per the
public Elenco controlli as best known and marked ``[C]`` in a comment (check against the
current version before relying on the exact scope). Every check tolerates a structurally
invalid model (``None`` where an element is mandatory): it skips what it cannot evaluate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from . import codes
from .errors import Finding
from .model import DatiGeneraliDocumento, FatturaElettronica, FatturaElettronicaBody
from .totals import expected_prezzo_totale, imponibili

Check = Callable[[FatturaElettronica], Iterator[Finding]]
_ROOT = "/FatturaElettronica"
HEADER_XPATH = f"{_ROOT}/FatturaElettronicaHeader"
_ZERO = Decimal(0)
_CENT = Decimal("0.01")  # the tolerance of 00421 and 00423


def finding(code: str, xpath: str, it: str, en: str) -> Finding:
    return Finding(code, xpath, it, en)


# Where the rate-bearing blocks live under a body. The checks below walk these for every
# invoice, so they keep (block, n, value) and format an XPath only for a finding; the values
# they read are still fetched before the first finding of a body, as an eager list would,
# so an ill-typed model stops a check at the same point.
LINES = "/DatiBeniServizi/DettaglioLinee"
RIEPILOGO = "/DatiBeniServizi/DatiRiepilogo"
CASSA = "/DatiGenerali/DatiGeneraliDocumento/DatiCassaPrevidenziale"


# Every check walks the bodies with their XPath: formatted once, not per check and invoice.
_BODY_PATHS = tuple(f"{_ROOT}/FatturaElettronicaBody[{i}]" for i in range(1, 101))


def bodies(inv: FatturaElettronica) -> Iterator[tuple[str, FatturaElettronicaBody]]:
    for i, body in enumerate(inv.bodies or ()):
        if body is not None:
            yield (_BODY_PATHS[i] if i < 100 else f"{_ROOT}/FatturaElettronicaBody[{i + 1}]",
                   body)


def check_natura_vs_aliquota(inv: FatturaElettronica) -> Iterator[Finding]:
    """00400/00401 lines, 00413/00414 cassa, 00429/00430 riepilogo: Natura iff rate 0."""
    for bp, body in bodies(inv):
        groups: tuple[tuple[str, tuple[Any, ...], str, str], ...] = (
            (LINES, tuple(body.dati_beni_servizi.dettaglio_linee), "00400", "00401"),
            (CASSA, tuple(body.dati_generali.dati_generali_documento.dati_cassa_previdenziale),
             "00413", "00414"),
            (RIEPILOGO, tuple(body.dati_beni_servizi.dati_riepilogo), "00429", "00430"),
        )
        for block, items, missing, present in groups:
            for n, x in enumerate(items, 1):
                if x.aliquota_iva is None:
                    continue
                if x.aliquota_iva == 0 and x.natura is None:
                    yield finding(missing, f"{bp}{block}[{n}]/Natura", "Natura non presente a "
                                  "fronte di AliquotaIVA pari a zero",
                                  "Natura missing although AliquotaIVA is 0")
                elif x.aliquota_iva != 0 and x.natura is not None:
                    yield finding(present, f"{bp}{block}[{n}]/Natura", "Natura presente a "
                                  "fronte di AliquotaIVA diversa da zero",
                                  "Natura given although AliquotaIVA is not 0")


def check_natura_generica(inv: FatturaElettronica) -> Iterator[Finding]:
    """00445: generic N2/N3/N6 (still in the XSD) refused since 2021-01-01."""
    for bp, body in bodies(inv):
        dgd = body.dati_generali.dati_generali_documento
        for block, n, natura in _per_block(body, dgd, "natura"):
            if natura in codes.GENERIC_NATURA:
                yield finding("00445", f"{bp}{block}[{n}]/Natura",
                         f"Natura {natura} generica non piu' ammessa: usare un sottocodice",
                         f"generic Natura {natura} no longer accepted: use a sub-code")


def check_ritenuta(inv: FatturaElettronica) -> Iterator[Finding]:
    """00411 (line Ritenuta=SI) / 00415 (cassa Ritenuta=SI) without any DatiRitenuta."""
    for bp, body in bodies(inv):
        dgd = body.dati_generali.dati_generali_documento
        if dgd.dati_ritenuta:
            continue
        path = f"{bp}/DatiGenerali/DatiGeneraliDocumento/DatiRitenuta"
        if any(x.ritenuta == "SI" for x in body.dati_beni_servizi.dettaglio_linee):
            yield finding("00411", path, "DatiRitenuta non presente a fronte di linee con Ritenuta "
                     "SI", "DatiRitenuta missing although a line has Ritenuta SI")
        if any(x.ritenuta == "SI" for x in dgd.dati_cassa_previdenziale):
            yield finding("00415", path, "DatiRitenuta non presente a fronte di DatiCassa"
                     "Previdenziale con Ritenuta SI",
                     "DatiRitenuta missing although DatiCassaPrevidenziale has Ritenuta SI")


def check_cessionario_id(inv: FatturaElettronica) -> Iterator[Finding]:
    """00417: the buyer needs IdFiscaleIVA and/or CodiceFiscale."""
    da = inv.header.cessionario_committente.dati_anagrafici
    if da.id_fiscale_iva is None and da.codice_fiscale is None:
        yield finding("00417", f"{HEADER_XPATH}/CessionarioCommittente/DatiAnagrafici",
                 "IdFiscaleIVA e CodiceFiscale del cessionario non valorizzati (almeno uno)",
                 "buyer has neither IdFiscaleIVA nor CodiceFiscale")


def check_date_collegate(inv: FatturaElettronica) -> Iterator[Finding]:
    """00418: invoice Data earlier than the Data of a DatiFattureCollegate document."""
    for bp, body in bodies(inv):
        data = body.dati_generali.dati_generali_documento.data
        for n, fc in enumerate(body.dati_generali.dati_fatture_collegate, 1):
            if data is not None and fc.data is not None and data < fc.data:
                yield finding("00418", f"{bp}/DatiGenerali/DatiFattureCollegate[{n}]/Data",
                         "Data del documento antecedente alla data della fattura collegata",
                         "document Data is earlier than the linked invoice's Data")


def check_riepilogo(inv: FatturaElettronica) -> Iterator[Finding]:
    """00419 missing summary for a (rate, Natura), 00420 N6.x with S, 00421 Imposta,
    00422 ImponibileImporto (lines + cassa + Arrotondamento, ±1.00)."""
    for bp, body in bodies(inv):
        bs = body.dati_beni_servizi
        sums = imponibili(
            [x for x in bs.dettaglio_linee if x.prezzo_totale is not None
             and x.aliquota_iva is not None],
            [x for x in body.dati_generali.dati_generali_documento.dati_cassa_previdenziale
             if x.importo_contributo_cassa is not None and x.aliquota_iva is not None])
        have = {(r.aliquota_iva, r.natura) for r in bs.dati_riepilogo}
        for aliquota, natura in sums:
            if (aliquota, natura) not in have:
                what = f"AliquotaIVA {aliquota}" + (f" Natura {natura}" if natura else "")
                yield finding("00419", f"{bp}/DatiBeniServizi/DatiRiepilogo",
                         f"DatiRiepilogo non presente per {what}", f"no DatiRiepilogo for {what}")
        for n, r in enumerate(bs.dati_riepilogo, 1):
            path = f"{bp}/DatiBeniServizi/DatiRiepilogo[{n}]"
            if (r.natura or "").startswith("N6") and r.esigibilita_iva == "S":
                yield finding("00420", f"{path}/EsigibilitaIVA", "Natura N6 (inversione contabile) "
                         "incompatibile con EsigibilitaIVA S (scissione pagamenti)",
                         "reverse charge (N6.x) cannot have EsigibilitaIVA S (split payment)")
            if r.imponibile_importo is None or r.aliquota_iva is None:
                continue
            if r.imposta is not None and abs(
                    r.imposta - r.imponibile_importo * r.aliquota_iva / 100) > _CENT:
                yield finding("00421", f"{path}/Imposta", "Imposta non calcolata secondo le regole "
                         "(ImponibileImporto x AliquotaIVA / 100)",
                         "Imposta != ImponibileImporto x AliquotaIVA / 100 (tolerance 0.01)")
            expected = sums.get((r.aliquota_iva, r.natura), _ZERO) + (r.arrotondamento or 0)
            if abs(r.imponibile_importo - expected) > 1:
                yield finding("00422", f"{path}/ImponibileImporto",
                              "ImponibileImporto non calcolato "
                         f"secondo le regole (atteso {expected})", "ImponibileImporto != sum of "
                         f"PrezzoTotale + cassa + Arrotondamento ({expected}, tolerance 1.00)")


def check_prezzo_totale(inv: FatturaElettronica) -> Iterator[Finding]:
    """00423: PrezzoTotale = discounted PrezzoUnitario × Quantita (±0.01)."""
    for bp, body in bodies(inv):
        for n, x in enumerate(body.dati_beni_servizi.dettaglio_linee, 1):
            if x.prezzo_unitario is None or x.prezzo_totale is None:
                continue
            expected = expected_prezzo_totale(x)
            if abs(x.prezzo_totale - expected) > _CENT:
                yield finding("00423", f"{bp}/DatiBeniServizi/DettaglioLinee[{n}]/PrezzoTotale",
                         "PrezzoTotale non calcolato secondo le regole",
                         f"PrezzoTotale != PrezzoUnitario (discounted) x Quantita = {expected}")


def check_aliquota_percentuale(inv: FatturaElettronica) -> Iterator[Finding]:
    """00424: a rate not expressed as a percentage. [C] Read as 0 < rate < 1 (0.22 for 22%):
    the XSD pattern already forces two decimals, so this is the remaining detectable case."""
    for bp, body in bodies(inv):
        dgd = body.dati_generali.dati_generali_documento
        for block, n, rate in _per_block(body, dgd, "aliquota_iva"):
            if rate is not None and 0 < rate < 1:
                yield finding("00424", f"{bp}{block}[{n}]/AliquotaIVA",
                              "AliquotaIVA non indicata in termini percentuali",
                              f"AliquotaIVA {rate} is not a percentage (22.00, not 0.22)")


def _per_block(body: FatturaElettronicaBody, dgd: DatiGeneraliDocumento,
               attr: str) -> list[tuple[str, int, Any]]:
    """(block, n, value of ``attr``) for the lines, the summaries and the cassa blocks, in
    that order; all values are read before the caller sees the first one."""
    rows = [(LINES, n, getattr(x, attr))
            for n, x in enumerate(body.dati_beni_servizi.dettaglio_linee, 1)]
    rows += [(RIEPILOGO, n, getattr(x, attr))
             for n, x in enumerate(body.dati_beni_servizi.dati_riepilogo, 1)]
    rows += [(CASSA, n, getattr(x, attr)) for n, x in enumerate(dgd.dati_cassa_previdenziale, 1)]
    return rows
