"""Typed model of the FatturaElettronicaHeader (FatturaPA 1.2.3, FPA12 and FPR12).

Frozen, slotted dataclasses; fields are declared in XSD sequence order (see `fields`). Codes
are kept as ``str`` (compare with the enums in `codes`); amounts are ``Decimal``. Names follow
the XML elements in snake_case so the spec's numbering (1.1.x, 1.2.x …) maps one to one.
"""

# The field helpers (req/opt/many) return dataclasses.field(...) objects: RUF009 does not apply.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import xsdtypes as t
from .fields import opt, req


@dataclass(frozen=True, slots=True, kw_only=True)
class IdFiscale:
    """IdFiscaleType: country + fiscal code (IdTrasmittente, IdFiscaleIVA)."""

    id_paese: str = req("IdPaese", t.NAZIONE)
    id_codice: str = req("IdCodice", t.CODICE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Anagrafica:
    """AnagraficaType: Denominazione XOR (Nome + Cognome), an XSD choice (see `structure`)."""

    denominazione: str | None = opt("Denominazione", t.LATIN80)
    nome: str | None = opt("Nome", t.LATIN60)
    cognome: str | None = opt("Cognome", t.LATIN60)
    titolo: str | None = opt("Titolo", t.TITOLO)
    cod_eori: str | None = opt("CodEORI", t.COD_EORI)


@dataclass(frozen=True, slots=True, kw_only=True)
class Indirizzo:
    """IndirizzoType (Sede, StabileOrganizzazione, IndirizzoResa)."""

    indirizzo: str = req("Indirizzo", t.LATIN60)
    numero_civico: str | None = opt("NumeroCivico", t.NUMERO_CIVICO)
    cap: str = req("CAP", t.CAP)
    comune: str = req("Comune", t.LATIN60)
    provincia: str | None = opt("Provincia", t.PROVINCIA)
    nazione: str = req("Nazione", t.NAZIONE, default="IT")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContattiTrasmittente:
    """1.1.5 ContattiTrasmittente."""

    telefono: str | None = opt("Telefono", t.TELFAX)
    email: str | None = opt("Email", t.EMAIL_CONTATTI)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiTrasmissione:
    """1.1 DatiTrasmissione."""

    id_trasmittente: IdFiscale = req("IdTrasmittente", IdFiscale)
    progressivo_invio: str = req("ProgressivoInvio", t.STRING10)
    formato_trasmissione: str = req("FormatoTrasmissione", t.FORMATO_TRASMISSIONE)
    codice_destinatario: str = req("CodiceDestinatario", t.CODICE_DESTINATARIO)
    contatti_trasmittente: ContattiTrasmittente | None = opt(
        "ContattiTrasmittente", ContattiTrasmittente)
    pec_destinatario: str | None = opt("PECDestinatario", t.EMAIL)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiAnagraficiCedente:
    """1.2.1 DatiAnagrafici of the seller."""

    id_fiscale_iva: IdFiscale = req("IdFiscaleIVA", IdFiscale)
    codice_fiscale: str | None = opt("CodiceFiscale", t.CODICE_FISCALE)
    anagrafica: Anagrafica = req("Anagrafica", Anagrafica)
    albo_professionale: str | None = opt("AlboProfessionale", t.LATIN60)
    provincia_albo: str | None = opt("ProvinciaAlbo", t.PROVINCIA)
    numero_iscrizione_albo: str | None = opt("NumeroIscrizioneAlbo", t.STRING60)
    data_iscrizione_albo: date | None = opt("DataIscrizioneAlbo", t.DATE)
    regime_fiscale: str = req("RegimeFiscale", t.REGIME_FISCALE)


@dataclass(frozen=True, slots=True, kw_only=True)
class IscrizioneREA:
    """1.2.4 IscrizioneREA."""

    ufficio: str = req("Ufficio", t.PROVINCIA)
    numero_rea: str = req("NumeroREA", t.STRING20)
    capitale_sociale: Decimal | None = opt("CapitaleSociale", t.AMOUNT2)
    socio_unico: str | None = opt("SocioUnico", t.SOCIO_UNICO)
    stato_liquidazione: str = req("StatoLiquidazione", t.STATO_LIQUIDAZIONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contatti:
    """1.2.5 Contatti of the seller."""

    telefono: str | None = opt("Telefono", t.TELFAX)
    fax: str | None = opt("Fax", t.TELFAX)
    email: str | None = opt("Email", t.EMAIL_CONTATTI)


@dataclass(frozen=True, slots=True, kw_only=True)
class CedentePrestatore:
    """1.2 CedentePrestatore (seller)."""

    dati_anagrafici: DatiAnagraficiCedente = req("DatiAnagrafici", DatiAnagraficiCedente)
    sede: Indirizzo = req("Sede", Indirizzo)
    stabile_organizzazione: Indirizzo | None = opt("StabileOrganizzazione", Indirizzo)
    iscrizione_rea: IscrizioneREA | None = opt("IscrizioneREA", IscrizioneREA)
    contatti: Contatti | None = opt("Contatti", Contatti)
    riferimento_amministrazione: str | None = opt("RiferimentoAmministrazione", t.STRING20)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiAnagraficiRappresentante:
    """1.3.1 DatiAnagrafici of the seller's tax representative."""

    id_fiscale_iva: IdFiscale = req("IdFiscaleIVA", IdFiscale)
    codice_fiscale: str | None = opt("CodiceFiscale", t.CODICE_FISCALE)
    anagrafica: Anagrafica = req("Anagrafica", Anagrafica)


@dataclass(frozen=True, slots=True, kw_only=True)
class RappresentanteFiscale:
    """1.3 RappresentanteFiscale (of the seller)."""

    dati_anagrafici: DatiAnagraficiRappresentante = req(
        "DatiAnagrafici", DatiAnagraficiRappresentante)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiAnagraficiCessionario:
    """1.4.1 DatiAnagrafici of the buyer (IdFiscaleIVA and/or CodiceFiscale: 00417)."""

    id_fiscale_iva: IdFiscale | None = opt("IdFiscaleIVA", IdFiscale)
    codice_fiscale: str | None = opt("CodiceFiscale", t.CODICE_FISCALE)
    anagrafica: Anagrafica = req("Anagrafica", Anagrafica)


@dataclass(frozen=True, slots=True, kw_only=True)
class RappresentanteFiscaleCessionario:
    """1.4.4 RappresentanteFiscale of the buyer (Denominazione XOR Nome + Cognome)."""

    id_fiscale_iva: IdFiscale = req("IdFiscaleIVA", IdFiscale)
    denominazione: str | None = opt("Denominazione", t.LATIN80)
    nome: str | None = opt("Nome", t.LATIN60)
    cognome: str | None = opt("Cognome", t.LATIN60)


@dataclass(frozen=True, slots=True, kw_only=True)
class CessionarioCommittente:
    """1.4 CessionarioCommittente (buyer)."""

    dati_anagrafici: DatiAnagraficiCessionario = req("DatiAnagrafici", DatiAnagraficiCessionario)
    sede: Indirizzo = req("Sede", Indirizzo)
    stabile_organizzazione: Indirizzo | None = opt("StabileOrganizzazione", Indirizzo)
    rappresentante_fiscale: RappresentanteFiscaleCessionario | None = opt(
        "RappresentanteFiscale", RappresentanteFiscaleCessionario)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiAnagraficiTerzo:
    """1.5.1 DatiAnagrafici of the third party / intermediary issuing the invoice."""

    id_fiscale_iva: IdFiscale | None = opt("IdFiscaleIVA", IdFiscale)
    codice_fiscale: str | None = opt("CodiceFiscale", t.CODICE_FISCALE)
    anagrafica: Anagrafica = req("Anagrafica", Anagrafica)


@dataclass(frozen=True, slots=True, kw_only=True)
class TerzoIntermediarioOSoggettoEmittente:
    """1.5 TerzoIntermediarioOSoggettoEmittente."""

    dati_anagrafici: DatiAnagraficiTerzo = req("DatiAnagrafici", DatiAnagraficiTerzo)


@dataclass(frozen=True, slots=True, kw_only=True)
class FatturaElettronicaHeader:
    """1 FatturaElettronicaHeader."""

    dati_trasmissione: DatiTrasmissione = req("DatiTrasmissione", DatiTrasmissione)
    cedente_prestatore: CedentePrestatore = req("CedentePrestatore", CedentePrestatore)
    rappresentante_fiscale: RappresentanteFiscale | None = opt(
        "RappresentanteFiscale", RappresentanteFiscale)
    cessionario_committente: CessionarioCommittente = req(
        "CessionarioCommittente", CessionarioCommittente)
    terzo_intermediario_o_soggetto_emittente: TerzoIntermediarioOSoggettoEmittente | None = opt(
        "TerzoIntermediarioOSoggettoEmittente", TerzoIntermediarioOSoggettoEmittente)
    soggetto_emittente: str | None = opt("SoggettoEmittente", t.SOGGETTO_EMITTENTE)


__all__ = [
    "Anagrafica", "CedentePrestatore", "CessionarioCommittente", "Contatti",
    "ContattiTrasmittente", "DatiAnagraficiCedente", "DatiAnagraficiCessionario",
    "DatiAnagraficiRappresentante", "DatiAnagraficiTerzo", "DatiTrasmissione",
    "FatturaElettronicaHeader", "IdFiscale", "Indirizzo", "IscrizioneREA",
    "RappresentanteFiscale", "RappresentanteFiscaleCessionario",
    "TerzoIntermediarioOSoggettoEmittente",
]
