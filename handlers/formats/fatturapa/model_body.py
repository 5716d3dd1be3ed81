"""Typed model of FatturaElettronicaBody (FatturaPA 1.2.3): general data, lines, summary, payment.

Same conventions as `model_header`: frozen slotted dataclasses, XSD order, codes as ``str``,
amounts as ``Decimal``, repeated elements as tuples, ``Attachment`` as the decoded bytes.
"""

# The field helpers (req/opt/many) return dataclasses.field(...) objects: RUF009 does not apply.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from . import xsdtypes as t
from .fields import many, opt, req
from .model_header import Anagrafica, IdFiscale, Indirizzo


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiRitenuta:
    """2.1.1.5 DatiRitenuta (withholding tax; repeatable since 1.2.2)."""

    tipo_ritenuta: str = req("TipoRitenuta", t.TIPO_RITENUTA)
    importo_ritenuta: Decimal = req("ImportoRitenuta", t.AMOUNT2)
    aliquota_ritenuta: Decimal = req("AliquotaRitenuta", t.RATE)
    causale_pagamento: str = req("CausalePagamento", t.CAUSALE_PAGAMENTO)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiBollo:
    """2.1.1.6 DatiBollo (virtual stamp duty)."""

    bollo_virtuale: str = req("BolloVirtuale", t.SI)
    importo_bollo: Decimal | None = opt("ImportoBollo", t.AMOUNT2)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiCassaPrevidenziale:
    """2.1.1.7 DatiCassaPrevidenziale (professional pension fund contribution)."""

    tipo_cassa: str = req("TipoCassa", t.TIPO_CASSA)
    al_cassa: Decimal = req("AlCassa", t.RATE)
    importo_contributo_cassa: Decimal = req("ImportoContributoCassa", t.AMOUNT2)
    imponibile_cassa: Decimal | None = opt("ImponibileCassa", t.AMOUNT2)
    aliquota_iva: Decimal = req("AliquotaIVA", t.RATE)
    ritenuta: str | None = opt("Ritenuta", t.SI)
    natura: str | None = opt("Natura", t.NATURA)
    riferimento_amministrazione: str | None = opt("RiferimentoAmministrazione", t.STRING20)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScontoMaggiorazione:
    """ScontoMaggiorazioneType: SC discount / MG surcharge, as a percentage or an amount."""

    tipo: str = req("Tipo", t.TIPO_SCONTO)
    percentuale: Decimal | None = opt("Percentuale", t.RATE)
    importo: Decimal | None = opt("Importo", t.AMOUNT8)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiGeneraliDocumento:
    """2.1.1 DatiGeneraliDocumento."""

    tipo_documento: str = req("TipoDocumento", t.TIPO_DOCUMENTO)
    divisa: str = req("Divisa", t.DIVISA)
    data: date = req("Data", t.DATA_FATTURA)
    numero: str = req("Numero", t.STRING20)
    dati_ritenuta: tuple[DatiRitenuta, ...] = many("DatiRitenuta", DatiRitenuta)
    dati_bollo: DatiBollo | None = opt("DatiBollo", DatiBollo)
    dati_cassa_previdenziale: tuple[DatiCassaPrevidenziale, ...] = many(
        "DatiCassaPrevidenziale", DatiCassaPrevidenziale)
    sconto_maggiorazione: tuple[ScontoMaggiorazione, ...] = many(
        "ScontoMaggiorazione", ScontoMaggiorazione)
    importo_totale_documento: Decimal | None = opt("ImportoTotaleDocumento", t.AMOUNT2)
    arrotondamento: Decimal | None = opt("Arrotondamento", t.AMOUNT2)
    causale: tuple[str, ...] = many("Causale", t.LATIN200)
    art73: str | None = opt("Art73", t.SI)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiDocumentiCorrelati:
    """DatiOrdineAcquisto / DatiContratto / DatiConvenzione / DatiRicezione /
    DatiFattureCollegate (CodiceCUP / CodiceCIG matter for PA invoices)."""

    riferimento_numero_linea: tuple[int, ...] = many("RiferimentoNumeroLinea", t.RIF_NUMERO_LINEA)
    id_documento: str = req("IdDocumento", t.STRING20)
    data: date | None = opt("Data", t.DATE)
    num_item: str | None = opt("NumItem", t.STRING20)
    codice_commessa_convenzione: str | None = opt("CodiceCommessaConvenzione", t.LATIN100)
    codice_cup: str | None = opt("CodiceCUP", t.STRING15)
    codice_cig: str | None = opt("CodiceCIG", t.STRING15)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiSAL:
    """2.1.7 DatiSAL (work progress stage)."""

    riferimento_fase: int = req("RiferimentoFase", t.RIFERIMENTO_FASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiDDT:
    """2.1.8 DatiDDT (transport document)."""

    numero_ddt: str = req("NumeroDDT", t.STRING20)
    data_ddt: date = req("DataDDT", t.DATE)
    riferimento_numero_linea: tuple[int, ...] = many("RiferimentoNumeroLinea", t.RIF_NUMERO_LINEA)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiAnagraficiVettore:
    """2.1.9.1 DatiAnagraficiVettore (carrier)."""

    id_fiscale_iva: IdFiscale = req("IdFiscaleIVA", IdFiscale)
    codice_fiscale: str | None = opt("CodiceFiscale", t.CODICE_FISCALE)
    anagrafica: Anagrafica = req("Anagrafica", Anagrafica)
    numero_licenza_guida: str | None = opt("NumeroLicenzaGuida", t.STRING20)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiTrasporto:
    """2.1.9 DatiTrasporto."""

    dati_anagrafici_vettore: DatiAnagraficiVettore | None = opt(
        "DatiAnagraficiVettore", DatiAnagraficiVettore)
    mezzo_trasporto: str | None = opt("MezzoTrasporto", t.LATIN80)
    causale_trasporto: str | None = opt("CausaleTrasporto", t.LATIN100)
    numero_colli: int | None = opt("NumeroColli", t.NUMERO_COLLI)
    descrizione: str | None = opt("Descrizione", t.LATIN100)
    unita_misura_peso: str | None = opt("UnitaMisuraPeso", t.STRING10)
    peso_lordo: Decimal | None = opt("PesoLordo", t.PESO)
    peso_netto: Decimal | None = opt("PesoNetto", t.PESO)
    data_ora_ritiro: datetime | None = opt("DataOraRitiro", t.DATETIME)
    data_inizio_trasporto: date | None = opt("DataInizioTrasporto", t.DATE)
    tipo_resa: str | None = opt("TipoResa", t.TIPO_RESA)
    indirizzo_resa: Indirizzo | None = opt("IndirizzoResa", Indirizzo)
    data_ora_consegna: datetime | None = opt("DataOraConsegna", t.DATETIME)


@dataclass(frozen=True, slots=True, kw_only=True)
class FatturaPrincipale:
    """2.1.10 FatturaPrincipale (main invoice of an accessory-transport invoice)."""

    numero_fattura_principale: str = req("NumeroFatturaPrincipale", t.STRING20)
    data_fattura_principale: date = req("DataFatturaPrincipale", t.DATE)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiGenerali:
    """2.1 DatiGenerali."""

    dati_generali_documento: DatiGeneraliDocumento = req(
        "DatiGeneraliDocumento", DatiGeneraliDocumento)
    dati_ordine_acquisto: tuple[DatiDocumentiCorrelati, ...] = many(
        "DatiOrdineAcquisto", DatiDocumentiCorrelati)
    dati_contratto: tuple[DatiDocumentiCorrelati, ...] = many(
        "DatiContratto", DatiDocumentiCorrelati)
    dati_convenzione: tuple[DatiDocumentiCorrelati, ...] = many(
        "DatiConvenzione", DatiDocumentiCorrelati)
    dati_ricezione: tuple[DatiDocumentiCorrelati, ...] = many(
        "DatiRicezione", DatiDocumentiCorrelati)
    dati_fatture_collegate: tuple[DatiDocumentiCorrelati, ...] = many(
        "DatiFattureCollegate", DatiDocumentiCorrelati)
    dati_sal: tuple[DatiSAL, ...] = many("DatiSAL", DatiSAL)
    dati_ddt: tuple[DatiDDT, ...] = many("DatiDDT", DatiDDT)
    dati_trasporto: DatiTrasporto | None = opt("DatiTrasporto", DatiTrasporto)
    fattura_principale: FatturaPrincipale | None = opt("FatturaPrincipale", FatturaPrincipale)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodiceArticolo:
    """2.2.1.3 CodiceArticolo."""

    codice_tipo: str = req("CodiceTipo", t.STRING35)
    codice_valore: str = req("CodiceValore", t.STRING35_LATIN_EXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class AltriDatiGestionali:
    """2.2.1.16 AltriDatiGestionali."""

    tipo_dato: str = req("TipoDato", t.STRING10)
    riferimento_testo: str | None = opt("RiferimentoTesto", t.LATIN60)
    riferimento_numero: Decimal | None = opt("RiferimentoNumero", t.AMOUNT8)
    riferimento_data: date | None = opt("RiferimentoData", t.DATE)


@dataclass(frozen=True, slots=True, kw_only=True)
class DettaglioLinee:
    """2.2.1 DettaglioLinee (one invoice line)."""

    numero_linea: int = req("NumeroLinea", t.NUMERO_LINEA)
    tipo_cessione_prestazione: str | None = opt("TipoCessionePrestazione", t.TIPO_CESSIONE)
    codice_articolo: tuple[CodiceArticolo, ...] = many("CodiceArticolo", CodiceArticolo)
    descrizione: str = req("Descrizione", t.LATIN1000)
    quantita: Decimal | None = opt("Quantita", t.QUANTITA)
    unita_misura: str | None = opt("UnitaMisura", t.STRING10)
    data_inizio_periodo: date | None = opt("DataInizioPeriodo", t.DATE)
    data_fine_periodo: date | None = opt("DataFinePeriodo", t.DATE)
    prezzo_unitario: Decimal = req("PrezzoUnitario", t.AMOUNT8)
    sconto_maggiorazione: tuple[ScontoMaggiorazione, ...] = many(
        "ScontoMaggiorazione", ScontoMaggiorazione)
    prezzo_totale: Decimal = req("PrezzoTotale", t.AMOUNT8)
    aliquota_iva: Decimal = req("AliquotaIVA", t.RATE)
    ritenuta: str | None = opt("Ritenuta", t.SI)
    natura: str | None = opt("Natura", t.NATURA)
    riferimento_amministrazione: str | None = opt("RiferimentoAmministrazione", t.STRING20)
    altri_dati_gestionali: tuple[AltriDatiGestionali, ...] = many(
        "AltriDatiGestionali", AltriDatiGestionali)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiRiepilogo:
    """2.2.2 DatiRiepilogo (one VAT summary per AliquotaIVA/Natura)."""

    aliquota_iva: Decimal = req("AliquotaIVA", t.RATE)
    natura: str | None = opt("Natura", t.NATURA)
    spese_accessorie: Decimal | None = opt("SpeseAccessorie", t.AMOUNT2)
    arrotondamento: Decimal | None = opt("Arrotondamento", t.AMOUNT8)
    imponibile_importo: Decimal = req("ImponibileImporto", t.AMOUNT2)
    imposta: Decimal = req("Imposta", t.AMOUNT2)
    esigibilita_iva: str | None = opt("EsigibilitaIVA", t.ESIGIBILITA_IVA)
    riferimento_normativo: str | None = opt("RiferimentoNormativo", t.LATIN100)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiBeniServizi:
    """2.2 DatiBeniServizi."""

    dettaglio_linee: tuple[DettaglioLinee, ...] = many("DettaglioLinee", DettaglioLinee, 1)
    dati_riepilogo: tuple[DatiRiepilogo, ...] = many("DatiRiepilogo", DatiRiepilogo, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiVeicoli:
    """2.3 DatiVeicoli (new means of transport sold intra-EU)."""

    data: date = req("Data", t.DATE)
    totale_percorso: str = req("TotalePercorso", t.STRING15)


@dataclass(frozen=True, slots=True, kw_only=True)
class DettaglioPagamento:
    """2.4.2 DettaglioPagamento."""

    beneficiario: str | None = opt("Beneficiario", t.LATIN200)
    modalita_pagamento: str = req("ModalitaPagamento", t.MODALITA_PAGAMENTO)
    data_riferimento_termini_pagamento: date | None = opt(
        "DataRiferimentoTerminiPagamento", t.DATE)
    giorni_termini_pagamento: int | None = opt("GiorniTerminiPagamento", t.GIORNI_TERMINI)
    data_scadenza_pagamento: date | None = opt("DataScadenzaPagamento", t.DATE)
    importo_pagamento: Decimal = req("ImportoPagamento", t.AMOUNT2)
    cod_ufficio_postale: str | None = opt("CodUfficioPostale", t.STRING20)
    cognome_quietanzante: str | None = opt("CognomeQuietanzante", t.LATIN60)
    nome_quietanzante: str | None = opt("NomeQuietanzante", t.LATIN60)
    cf_quietanzante: str | None = opt("CFQuietanzante", t.CODICE_FISCALE_PF)
    titolo_quietanzante: str | None = opt("TitoloQuietanzante", t.TITOLO)
    istituto_finanziario: str | None = opt("IstitutoFinanziario", t.LATIN80)
    iban: str | None = opt("IBAN", t.IBAN)
    abi: str | None = opt("ABI", t.ABI)
    cab: str | None = opt("CAB", t.CAB)
    bic: str | None = opt("BIC", t.BIC)
    sconto_pagamento_anticipato: Decimal | None = opt("ScontoPagamentoAnticipato", t.AMOUNT2)
    data_limite_pagamento_anticipato: date | None = opt("DataLimitePagamentoAnticipato", t.DATE)
    penalita_pagamenti_ritardati: Decimal | None = opt("PenalitaPagamentiRitardati", t.AMOUNT2)
    data_decorrenza_penale: date | None = opt("DataDecorrenzaPenale", t.DATE)
    codice_pagamento: str | None = opt("CodicePagamento", t.STRING60)


@dataclass(frozen=True, slots=True, kw_only=True)
class DatiPagamento:
    """2.4 DatiPagamento (optional in the XSD, repeatable)."""

    condizioni_pagamento: str = req("CondizioniPagamento", t.CONDIZIONI_PAGAMENTO)
    dettaglio_pagamento: tuple[DettaglioPagamento, ...] = many(
        "DettaglioPagamento", DettaglioPagamento, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Allegato:
    """2.5 Allegati (one attachment; ``attachment`` holds the decoded bytes)."""

    nome_attachment: str = req("NomeAttachment", t.LATIN60)
    algoritmo_compressione: str | None = opt("AlgoritmoCompressione", t.STRING10)
    formato_attachment: str | None = opt("FormatoAttachment", t.STRING10)
    descrizione_attachment: str | None = opt("DescrizioneAttachment", t.LATIN100)
    attachment: bytes = req("Attachment", t.BASE64)


@dataclass(frozen=True, slots=True, kw_only=True)
class FatturaElettronicaBody:
    """2 FatturaElettronicaBody (one invoice; several of them make a lot)."""

    dati_generali: DatiGenerali = req("DatiGenerali", DatiGenerali)
    dati_beni_servizi: DatiBeniServizi = req("DatiBeniServizi", DatiBeniServizi)
    dati_veicoli: DatiVeicoli | None = opt("DatiVeicoli", DatiVeicoli)
    dati_pagamento: tuple[DatiPagamento, ...] = many("DatiPagamento", DatiPagamento)
    allegati: tuple[Allegato, ...] = many("Allegati", Allegato)
