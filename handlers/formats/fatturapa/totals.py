"""Invoice arithmetic in ``Decimal``: line totals and the VAT summary (DatiRiepilogo).

domain.md §1.4 "Implementation rule": compute with decimal, never floats; build DatiRiepilogo
from the lines grouped by (AliquotaIVA, Natura) and round each amount half-up to cents. The
same functions feed the SdI checks 00421/00422/00423 (`content_checks`), so what we generate is
exactly what we verify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from .model_body import DatiCassaPrevidenziale, DatiRiepilogo, DettaglioLinee, ScontoMaggiorazione

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
_ONE = Decimal(1)

#: One VAT group: (AliquotaIVA, Natura or None).
Key = tuple[Decimal, str | None]


def round_cents(value: Decimal) -> Decimal:
    """Half-up rounding to two decimals (the SdI/AdE convention, not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def apply_sconti(price: Decimal, sconti: Iterable[ScontoMaggiorazione]) -> Decimal:
    """Apply a ScontoMaggiorazione chain in cascade to a unit price (exact, unrounded).

    Each step uses Percentuale when given (price × (1 ∓ p/100)), else Importo (price ∓ amount);
    SC subtracts, MG adds. A step with neither is ignored here (it is error 00437/00438).
    """
    for sm in sconti:
        sign = -1 if sm.tipo == "SC" else 1
        if sm.percentuale is not None:
            price = price * (1 + sign * sm.percentuale / HUNDRED)
        elif sm.importo is not None:
            price = price + sign * sm.importo
    return price


def expected_prezzo_totale(line: DettaglioLinee) -> Decimal:
    """PrezzoUnitario adjusted by its discounts × Quantita (1 when absent), unrounded (00423)."""
    qty = line.quantita if line.quantita is not None else _ONE
    return apply_sconti(line.prezzo_unitario, line.sconto_maggiorazione) * qty


def expected_imposta(imponibile: Decimal, aliquota: Decimal) -> Decimal:
    """Imposta = ImponibileImporto × AliquotaIVA / 100, rounded half-up (00421)."""
    return round_cents(imponibile * aliquota / HUNDRED)


def imponibili(lines: Iterable[DettaglioLinee],
               casse: Iterable[DatiCassaPrevidenziale] = ()) -> dict[Key, Decimal]:
    """Σ PrezzoTotale per (AliquotaIVA, Natura) + Σ ImportoContributoCassa with the same key
    (00422), unrounded, in order of first appearance."""
    out: dict[Key, Decimal] = {}
    for line in lines:
        key = (line.aliquota_iva, line.natura)
        out[key] = out.get(key, ZERO) + line.prezzo_totale
    for cassa in casse:
        key = (cassa.aliquota_iva, cassa.natura)
        out[key] = out.get(key, ZERO) + cassa.importo_contributo_cassa
    return out


def compute_riepilogo(
    lines: Iterable[DettaglioLinee],
    casse: Iterable[DatiCassaPrevidenziale] = (),
    *,
    esigibilita_iva: str | None = None,
    riferimenti_normativi: Mapping[str, str] | None = None,
) -> tuple[DatiRiepilogo, ...]:
    """DatiRiepilogo blocks for ``lines`` (and cassa contributions), one per (rate, Natura).

    ImponibileImporto is the group sum rounded half-up to cents; Imposta is computed from that
    rounded base (what SdI re-computes for 00421) and is 0.00 for Natura groups.
    ``esigibilita_iva`` (I/D/S) is set on taxed groups only: S with N6.x is 00420, and
    EsigibilitaIVA means nothing without tax. ``riferimenti_normativi`` maps a Natura to
    the legal reference text, which is mandatory in practice whenever Natura is given.
    """
    refs = riferimenti_normativi or {}
    out = []
    for (aliquota, natura), total in imponibili(lines, casse).items():
        imponibile = round_cents(total)
        taxed = natura is None
        out.append(DatiRiepilogo(
            aliquota_iva=aliquota,
            natura=natura,
            imponibile_importo=imponibile,
            imposta=expected_imposta(imponibile, aliquota) if taxed else ZERO,
            esigibilita_iva=esigibilita_iva if taxed else None,
            riferimento_normativo=refs.get(natura) if natura is not None else None,
        ))
    return tuple(out)


def importo_totale_documento(riepilogo: Iterable[DatiRiepilogo],
                             importo_bollo: Decimal | None = None) -> Decimal:
    """Σ (ImponibileImporto + Imposta) (+ stamp duty when charged to the buyer)."""
    total = sum((r.imponibile_importo + r.imposta for r in riepilogo), ZERO)
    return total + (importo_bollo or ZERO)
