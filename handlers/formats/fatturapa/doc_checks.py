"""SdI content checks on transmission data, numbering, discounts and TipoDocumento coherence.

Companion of `content_checks` (same conventions): 00409 00425 00426 00427 00428 00437 00438
00471 00472 00473 00474 00475. The TD16-TD29 rules (00471-00475) are only paraphrased in
domain.md; the exact document-type scopes below follow the public Elenco controlli as best
known and are marked [C].
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .content_checks import HEADER_XPATH, bodies, finding
from .errors import Finding
from .model import FatturaElettronica, IdFiscale

_DIGIT = re.compile(r"[0-9]")
_SELLER_PAESE = f"{HEADER_XPATH}/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdPaese"
_BUYER_VAT = f"{HEADER_XPATH}/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA"
# [C] 00471: self-invoices/integrations where seller and buyer must differ (domain.md §1.4).
_MUST_DIFFER = frozenset({"TD16", "TD17", "TD18", "TD19", "TD20"})
# 00472: self-consumption / splafonamento: the seller issues to itself.
_MUST_EQUAL = frozenset({"TD21", "TD27"})
# 00473: integrations for purchases from abroad: the (foreign) seller cannot be IT.
_FOREIGN_SELLER = frozenset({"TD17", "TD18", "TD19"})
# [C] 00475: document types that need the buyer's IdFiscaleIVA (the buyer is the VAT subject
# doing the integration/self-invoice).
_NEED_BUYER_VAT = frozenset({"TD16", "TD17", "TD18", "TD19", "TD20", "TD21", "TD22", "TD23",
                             "TD27", "TD28", "TD29"})


def _same_party(a: IdFiscale | None, b: IdFiscale | None, cf_a: str | None,
                cf_b: str | None) -> bool:
    if a is not None and b is not None and (a.id_paese, a.id_codice) == (b.id_paese, b.id_codice):
        return True
    return cf_a is not None and cf_a == cf_b


def check_trasmissione(inv: FatturaElettronica) -> Iterator[Finding]:
    """00426 PEC with a code other than 0000000; 00427 code length vs format; 00428
    FormatoTrasmissione != versione."""
    dt = inv.header.dati_trasmissione
    path = f"{HEADER_XPATH}/DatiTrasmissione"
    # 00426 in its current form: PECDestinatario only makes sense with 0000000 (the historic
    # inverse rule, 0000000 without PEC, was dropped: delivery goes to the reserved area).
    if dt.pec_destinatario is not None and dt.codice_destinatario not in (None, "0000000"):
        yield finding("00426", f"{path}/PECDestinatario", "PECDestinatario valorizzato a fronte di "
                 "CodiceDestinatario diverso da 0000000",
                 "PECDestinatario given but CodiceDestinatario is not 0000000")
    code, fmt = dt.codice_destinatario, dt.formato_trasmissione
    if isinstance(code, str) and ((fmt == "FPA12" and len(code) != 6)
                                  or (fmt == "FPR12" and len(code) != 7)):
        yield finding("00427", f"{path}/CodiceDestinatario", f"CodiceDestinatario di {len(code)} "
                 f"caratteri non coerente con FormatoTrasmissione {fmt}",
                 f"CodiceDestinatario has {len(code)} characters, {fmt} needs "
                 f"{6 if fmt == 'FPA12' else 7}")
    if fmt is not None and inv.versione is not None and fmt != inv.versione:
        yield finding("00428", f"{path}/FormatoTrasmissione",
                      "FormatoTrasmissione non coerente con "
                 "l'attributo versione", f"FormatoTrasmissione {fmt} != versione {inv.versione}")


def check_numero(inv: FatturaElettronica) -> Iterator[Finding]:
    """00425 Numero without digits; 00409 same (year, Numero, TipoDocumento) twice in a lot."""
    seen: set[tuple[int, str, str]] = set()
    for bp, body in bodies(inv):
        dgd = body.dati_generali.dati_generali_documento
        path = f"{bp}/DatiGenerali/DatiGeneraliDocumento/Numero"
        if isinstance(dgd.numero, str) and not _DIGIT.search(dgd.numero):
            yield finding("00425", path, "Numero del documento non contiene caratteri numerici",
                     f"Numero {dgd.numero!r} contains no digit")
        if dgd.data is not None and dgd.numero is not None:
            key = (dgd.data.year, dgd.numero, dgd.tipo_documento)
            if key in seen:
                yield finding("00409", path, "Fattura duplicata all'interno del lotto",
                         "duplicate invoice (year, Numero, TipoDocumento) inside the lot")
            seen.add(key)


def check_sconti(inv: FatturaElettronica) -> Iterator[Finding]:
    """00437 (document) / 00438 (line): ScontoMaggiorazione Tipo without Percentuale/Importo."""
    for bp, body in bodies(inv):
        dgd = body.dati_generali.dati_generali_documento
        rows = [("00437", f"{bp}/DatiGenerali/DatiGeneraliDocumento/ScontoMaggiorazione[{n}]",
                 s) for n, s in enumerate(dgd.sconto_maggiorazione, 1)]
        for ln, line in enumerate(body.dati_beni_servizi.dettaglio_linee, 1):
            rows += [("00438", f"{bp}/DatiBeniServizi/DettaglioLinee[{ln}]/"
                      f"ScontoMaggiorazione[{n}]", s)
                     for n, s in enumerate(line.sconto_maggiorazione, 1)]
        for code, path, s in rows:
            if s.tipo is not None and s.percentuale is None and s.importo is None:
                yield finding(code, path, "Percentuale e Importo non presenti a fronte di Tipo "
                         "valorizzato", "ScontoMaggiorazione has Tipo but neither "
                         "Percentuale nor Importo")


def check_tipo_documento(inv: FatturaElettronica) -> Iterator[Finding]:
    """00471-00475: coherence of TD16-TD29 with the parties and the rates."""
    seller = inv.header.cedente_prestatore.dati_anagrafici
    buyer = inv.header.cessionario_committente.dati_anagrafici
    same = _same_party(seller.id_fiscale_iva, buyer.id_fiscale_iva,
                       seller.codice_fiscale, buyer.codice_fiscale)
    paese = seller.id_fiscale_iva.id_paese if seller.id_fiscale_iva is not None else None
    for bp, body in bodies(inv):
        td = body.dati_generali.dati_generali_documento.tipo_documento
        path = f"{bp}/DatiGenerali/DatiGeneraliDocumento/TipoDocumento"
        if td in _MUST_DIFFER and same:
            yield finding("00471", path, f"Per {td} cedente e cessionario non possono coincidere",
                     f"{td}: seller and buyer must be different subjects")
        if td in _MUST_EQUAL and not same:
            yield finding("00472", path, f"Per {td} cedente e cessionario devono coincidere",
                     f"{td}: seller and buyer must be the same subject")
        if td in _FOREIGN_SELLER and paese == "IT":
            yield finding("00473", _SELLER_PAESE,
                     f"Per {td} non e' ammesso IdPaese IT per il cedente",
                     f"{td}: the seller's IdPaese cannot be IT")
        # [C] same code for TD28 (purchases from San Marino): the seller must be SM.
        if td == "TD28" and paese is not None and paese != "SM":
            yield finding("00473", _SELLER_PAESE,
                     "Per TD28 IdPaese del cedente deve essere SM",
                     "TD28: the seller's IdPaese must be SM")
        # [C] 00474: a TD21 (self-invoice for exceeding the plafond) exists to charge VAT, so
        # lines with AliquotaIVA 0 are refused.
        if td == "TD21":
            for n, line in enumerate(body.dati_beni_servizi.dettaglio_linee, 1):
                if line.aliquota_iva is not None and line.aliquota_iva == 0:
                    yield finding("00474", f"{bp}/DatiBeniServizi/DettaglioLinee[{n}]/AliquotaIVA",
                             f"Per {td} non sono ammesse linee con AliquotaIVA pari a zero",
                             f"{td}: lines with AliquotaIVA 0 are not allowed")
        if td in _NEED_BUYER_VAT and buyer.id_fiscale_iva is None:
            yield finding("00475", _BUYER_VAT,
                     f"Per {td} deve essere presente IdFiscaleIVA del cessionario",
                     f"{td}: the buyer's IdFiscaleIVA is required")


__all__ = ["check_numero", "check_sconti", "check_tipo_documento", "check_trasmissione"]
