"""The FatturaElettronica root and one import point for the whole typed model.

`FatturaElettronica` = header + 1..n bodies (n > 1 is a lot, domain.md §1.2). The optional
XAdES ``ds:Signature`` is not part of the model: the reader skips it, the writer never emits it
(signing is a separate step on the written bytes).
"""

# The field helpers (req/opt/many) return dataclasses.field(...) objects: RUF009 does not apply.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass

from . import xsdtypes as t
from .fields import many, opt, req
from .model_body import (
    Allegato,
    AltriDatiGestionali,
    CodiceArticolo,
    DatiAnagraficiVettore,
    DatiBeniServizi,
    DatiBollo,
    DatiCassaPrevidenziale,
    DatiDDT,
    DatiDocumentiCorrelati,
    DatiGenerali,
    DatiGeneraliDocumento,
    DatiPagamento,
    DatiRiepilogo,
    DatiRitenuta,
    DatiSAL,
    DatiTrasporto,
    DatiVeicoli,
    DettaglioLinee,
    DettaglioPagamento,
    FatturaElettronicaBody,
    FatturaPrincipale,
    ScontoMaggiorazione,
)
from .model_header import (
    Anagrafica,
    CedentePrestatore,
    CessionarioCommittente,
    Contatti,
    ContattiTrasmittente,
    DatiAnagraficiCedente,
    DatiAnagraficiCessionario,
    DatiAnagraficiRappresentante,
    DatiAnagraficiTerzo,
    DatiTrasmissione,
    FatturaElettronicaHeader,
    IdFiscale,
    Indirizzo,
    IscrizioneREA,
    RappresentanteFiscale,
    RappresentanteFiscaleCessionario,
    TerzoIntermediarioOSoggettoEmittente,
)

#: Namespace of FatturaPA 1.2, 1.2.1, 1.2.2 and 1.2.3 (domain.md §1.1).
NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
ROOT = "FatturaElettronica"


@dataclass(frozen=True, slots=True, kw_only=True)
class FatturaElettronica:
    """The whole file: ``versione`` (FPA12/FPR12, = FormatoTrasmissione), header, bodies."""

    versione: str = req("versione", t.FORMATO_TRASMISSIONE, attr=True)
    sistema_emittente: str | None = opt("SistemaEmittente", t.STRING10, attr=True)
    header: FatturaElettronicaHeader = req("FatturaElettronicaHeader", FatturaElettronicaHeader)
    bodies: tuple[FatturaElettronicaBody, ...] = many(
        "FatturaElettronicaBody", FatturaElettronicaBody, 1)


__all__ = [
    "NAMESPACE", "ROOT", "Allegato", "AltriDatiGestionali", "Anagrafica", "CedentePrestatore",
    "CessionarioCommittente", "CodiceArticolo", "Contatti", "ContattiTrasmittente",
    "DatiAnagraficiCedente", "DatiAnagraficiCessionario", "DatiAnagraficiRappresentante",
    "DatiAnagraficiTerzo", "DatiAnagraficiVettore", "DatiBeniServizi", "DatiBollo",
    "DatiCassaPrevidenziale", "DatiDDT", "DatiDocumentiCorrelati", "DatiGenerali",
    "DatiGeneraliDocumento", "DatiPagamento", "DatiRiepilogo", "DatiRitenuta", "DatiSAL",
    "DatiTrasmissione", "DatiTrasporto", "DatiVeicoli", "DettaglioLinee", "DettaglioPagamento",
    "FatturaElettronica", "FatturaElettronicaBody", "FatturaElettronicaHeader",
    "FatturaPrincipale", "IdFiscale", "Indirizzo", "IscrizioneREA", "RappresentanteFiscale",
    "RappresentanteFiscaleCessionario", "ScontoMaggiorazione",
    "TerzoIntermediarioOSoggettoEmittente",
]
