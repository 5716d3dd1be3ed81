"""FatturaPA code lists (schema 1.2.3), as ``StrEnum`` so members are plain strings.

The model stores codes as ``str`` (a file read from outside may carry any value and the
validator must be able to report it); these enums are the allowed values, used by the writer's
callers, by `xsdtypes` (enumeration facets) and by the content checks. Source: the 1.2.3 XSD
(domain.md §1.3). Generic N2/N3/N6 are still in the XSD but SdI rejects them (00445).
"""

from __future__ import annotations

from enum import StrEnum


class FormatoTrasmissione(StrEnum):
    """`versione` / `FormatoTrasmissione`: to a PA (FPA12) or to privates (FPR12)."""

    FPA12 = "FPA12"
    FPR12 = "FPR12"

class TipoDocumento(StrEnum):
    """2.1.1.1 TipoDocumento (TD07-TD15 do not exist in the ordinary format)."""

    TD01 = "TD01"  # fattura
    TD02 = "TD02"  # acconto/anticipo su fattura
    TD03 = "TD03"  # acconto/anticipo su parcella
    TD04 = "TD04"  # nota di credito
    TD05 = "TD05"  # nota di debito
    TD06 = "TD06"  # parcella
    TD16 = "TD16"  # integrazione reverse charge interno
    TD17 = "TD17"  # integrazione/autofattura servizi dall'estero
    TD18 = "TD18"  # integrazione acquisto beni intracomunitari
    TD19 = "TD19"  # integrazione/autofattura beni art.17 c.2
    TD20 = "TD20"  # autofattura regolarizzazione (art.6 c.9-bis D.Lgs.471/97, art.46 c.5 DL 331/93)
    TD21 = "TD21"  # autofattura per splafonamento
    TD22 = "TD22"  # estrazione beni da deposito IVA
    TD23 = "TD23"  # estrazione beni da deposito IVA con versamento IVA
    TD24 = "TD24"  # fattura differita art.21 c.4 lett. a
    TD25 = "TD25"  # fattura differita art.21 c.4 terzo periodo lett. b
    TD26 = "TD26"  # cessione beni ammortizzabili / passaggi interni
    TD27 = "TD27"  # autoconsumo / cessioni gratuite senza rivalsa
    TD28 = "TD28"  # acquisti da San Marino con IVA (fattura cartacea)
    TD29 = "TD29"  # comunicazione omessa/irregolare fatturazione (1.2.3)

class Natura(StrEnum):
    """Natura of a zero-rate operation (lines, riepilogo, cassa)."""

    N1 = "N1"  # escluse ex art.15
    N2 = "N2"  # non soggette (generico: rifiutato da SdI dal 2021, 00445)
    N2_1 = "N2.1"  # non soggette artt. 7-7-septies
    N2_2 = "N2.2"  # non soggette - altri casi
    N3 = "N3"  # non imponibili (generico: rifiutato, 00445)
    N3_1 = "N3.1"  # esportazioni
    N3_2 = "N3.2"  # cessioni intracomunitarie
    N3_3 = "N3.3"  # cessioni verso San Marino
    N3_4 = "N3.4"  # assimilate alle esportazioni
    N3_5 = "N3.5"  # a seguito di dichiarazioni d'intento
    N3_6 = "N3.6"  # altre non imponibili
    N4 = "N4"  # esenti
    N5 = "N5"  # regime del margine / IVA non esposta
    N6 = "N6"  # inversione contabile (generico: rifiutato, 00445)
    N6_1 = "N6.1"  # rottami
    N6_2 = "N6.2"  # oro e argento
    N6_3 = "N6.3"  # subappalto edilizia
    N6_4 = "N6.4"  # cessione fabbricati
    N6_5 = "N6.5"  # telefoni cellulari
    N6_6 = "N6.6"  # prodotti elettronici
    N6_7 = "N6.7"  # comparto edile
    N6_8 = "N6.8"  # settore energetico
    N6_9 = "N6.9"  # altri casi
    N7 = "N7"  # IVA assolta in altro stato UE

class RegimeFiscale(StrEnum):
    """1.2.1.8 RegimeFiscale of the seller (RF03 does not exist)."""

    RF01 = "RF01"  # ordinario
    RF02 = "RF02"  # contribuenti minimi
    RF04 = "RF04"  # agricoltura
    RF05 = "RF05"  # vendita sali e tabacchi
    RF06 = "RF06"  # commercio fiammiferi
    RF07 = "RF07"  # editoria
    RF08 = "RF08"  # gestione servizi telefonia pubblica
    RF09 = "RF09"  # rivendita documenti di trasporto pubblico
    RF10 = "RF10"  # intrattenimenti, giochi
    RF11 = "RF11"  # agenzie viaggi e turismo
    RF12 = "RF12"  # agriturismo
    RF13 = "RF13"  # vendite a domicilio
    RF14 = "RF14"  # rivendita beni usati, oggetti d'arte
    RF15 = "RF15"  # agenzie vendite all'asta
    RF16 = "RF16"  # IVA per cassa P.A.
    RF17 = "RF17"  # IVA per cassa
    RF18 = "RF18"  # altro
    RF19 = "RF19"  # forfettario
    RF20 = "RF20"  # franchigia IVA transfrontaliera UE (1.2.3)

class ModalitaPagamento(StrEnum):
    """2.4.2.2 ModalitaPagamento."""

    MP01 = "MP01"  # contanti
    MP02 = "MP02"  # assegno
    MP03 = "MP03"  # assegno circolare
    MP04 = "MP04"  # contanti presso Tesoreria
    MP05 = "MP05"  # bonifico
    MP06 = "MP06"  # vaglia cambiario
    MP07 = "MP07"  # bollettino bancario
    MP08 = "MP08"  # carta di pagamento
    MP09 = "MP09"  # RID
    MP10 = "MP10"  # RID utenze
    MP11 = "MP11"  # RID veloce
    MP12 = "MP12"  # RIBA
    MP13 = "MP13"  # MAV
    MP14 = "MP14"  # quietanza erario
    MP15 = "MP15"  # giroconto su conti di contabilita speciale
    MP16 = "MP16"  # domiciliazione bancaria
    MP17 = "MP17"  # domiciliazione postale
    MP18 = "MP18"  # bollettino di c/c postale
    MP19 = "MP19"  # SEPA Direct Debit
    MP20 = "MP20"  # SEPA Direct Debit CORE
    MP21 = "MP21"  # SEPA Direct Debit B2B
    MP22 = "MP22"  # trattenuta su somme gia riscosse
    MP23 = "MP23"  # PagoPA

class CondizioniPagamento(StrEnum):
    """2.4.1 CondizioniPagamento: TP01 instalments, TP02 full, TP03 advance."""

    TP01 = "TP01"
    TP02 = "TP02"
    TP03 = "TP03"

class TipoRitenuta(StrEnum):
    """2.1.1.5.1 TipoRitenuta.

    RT01 persons, RT02 companies, RT03 INPS, RT04 ENASARCO, RT05 ENPAM, RT06 other.
    """

    RT01 = "RT01"
    RT02 = "RT02"
    RT03 = "RT03"
    RT04 = "RT04"
    RT05 = "RT05"
    RT06 = "RT06"

class CausalePagamento(StrEnum):
    """2.1.1.5.4 CausalePagamento (Mod. CU codes; Z invalid since 2021)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741
    L = "L"
    M = "M"
    N = "N"
    O = "O"  # noqa: E741
    P = "P"
    Q = "Q"
    R = "R"
    S = "S"
    T = "T"
    U = "U"
    V = "V"
    W = "W"
    X = "X"
    Y = "Y"
    Z = "Z"
    L1 = "L1"
    M1 = "M1"
    M2 = "M2"
    O1 = "O1"
    V1 = "V1"
    ZO = "ZO"

class TipoCassa(StrEnum):
    """2.1.1.7.1 TipoCassa TC01-TC22."""

    TC01 = "TC01"
    TC02 = "TC02"
    TC03 = "TC03"
    TC04 = "TC04"
    TC05 = "TC05"
    TC06 = "TC06"
    TC07 = "TC07"
    TC08 = "TC08"
    TC09 = "TC09"
    TC10 = "TC10"
    TC11 = "TC11"
    TC12 = "TC12"
    TC13 = "TC13"
    TC14 = "TC14"
    TC15 = "TC15"
    TC16 = "TC16"
    TC17 = "TC17"
    TC18 = "TC18"
    TC19 = "TC19"
    TC20 = "TC20"
    TC21 = "TC21"
    TC22 = "TC22"

class EsigibilitaIVA(StrEnum):
    """2.2.2.7 EsigibilitaIVA: I immediate, D deferred, S split payment."""

    I = "I"  # noqa: E741
    D = "D"
    S = "S"

class TipoScontoMaggiorazione(StrEnum):
    """ScontoMaggiorazione/Tipo: SC discount, MG surcharge."""

    SC = "SC"
    MG = "MG"

class TipoCessionePrestazione(StrEnum):
    """2.2.1.2: SC sconto, PR premio, AB abbuono, AC spesa accessoria."""

    SC = "SC"
    PR = "PR"
    AB = "AB"
    AC = "AC"

class SoggettoEmittente(StrEnum):
    """1.6 SoggettoEmittente: CC buyer, TZ third party."""

    CC = "CC"
    TZ = "TZ"

class SocioUnico(StrEnum):
    """1.2.4.4 SocioUnico: SU single shareholder, SM several."""

    SU = "SU"
    SM = "SM"

class StatoLiquidazione(StrEnum):
    """1.2.4.5 StatoLiquidazione: LS in liquidation, LN not."""

    LS = "LS"
    LN = "LN"

#: Natura codes SdI no longer accepts although the XSD still lists them (00445).
GENERIC_NATURA: frozenset[str] = frozenset({"N2", "N3", "N6"})
