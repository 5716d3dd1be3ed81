"""Italian descriptions of the FatturaPA codes people see on a rendered invoice.

The model keeps codes (``TD01``, ``MP05`` …); a reader wants "Fattura", "Bonifico". The texts
follow the wording of the AdE tables (schema 1.2.3, domain.md §1.3), shortened where the
official text is a paragraph. An unknown code (a hostile or future file) is shown as is.
"""

from __future__ import annotations

TIPO_DOCUMENTO = {
    "TD01": "Fattura",
    "TD02": "Acconto/anticipo su fattura",
    "TD03": "Acconto/anticipo su parcella",
    "TD04": "Nota di credito",
    "TD05": "Nota di debito",
    "TD06": "Parcella",
    "TD16": "Integrazione fattura reverse charge interno",
    "TD17": "Integrazione/autofattura per acquisto servizi dall'estero",
    "TD18": "Integrazione per acquisto di beni intracomunitari",
    "TD19": "Integrazione/autofattura per acquisto di beni ex art. 17 c. 2 DPR 633/72",
    "TD20": "Autofattura per regolarizzazione (art. 6 c. 9-bis D.Lgs. 471/97, "
            "art. 46 c. 5 D.L. 331/93)",
    "TD21": "Autofattura per splafonamento",
    "TD22": "Estrazione beni da Deposito IVA",
    "TD23": "Estrazione beni da Deposito IVA con versamento dell'IVA",
    "TD24": "Fattura differita (art. 21 c. 4 lett. a)",
    "TD25": "Fattura differita (art. 21 c. 4 terzo periodo lett. b)",
    "TD26": "Cessione di beni ammortizzabili e passaggi interni",
    "TD27": "Fattura per autoconsumo o cessioni gratuite senza rivalsa",
    "TD28": "Acquisti da San Marino con IVA (fattura cartacea)",
    "TD29": "Comunicazione per omessa o irregolare fatturazione",
}

MODALITA_PAGAMENTO = {
    "MP01": "Contanti", "MP02": "Assegno", "MP03": "Assegno circolare",
    "MP04": "Contanti presso Tesoreria", "MP05": "Bonifico", "MP06": "Vaglia cambiario",
    "MP07": "Bollettino bancario", "MP08": "Carta di pagamento", "MP09": "RID",
    "MP10": "RID utenze", "MP11": "RID veloce", "MP12": "RIBA", "MP13": "MAV",
    "MP14": "Quietanza erario", "MP15": "Giroconto su conti di contabilità speciale",
    "MP16": "Domiciliazione bancaria", "MP17": "Domiciliazione postale",
    "MP18": "Bollettino di c/c postale", "MP19": "SEPA Direct Debit",
    "MP20": "SEPA Direct Debit CORE", "MP21": "SEPA Direct Debit B2B",
    "MP22": "Trattenuta su somme già riscosse", "MP23": "PagoPA",
}

CONDIZIONI_PAGAMENTO = {
    "TP01": "Pagamento a rate", "TP02": "Pagamento completo", "TP03": "Anticipo",
}

NATURA = {
    "N1": "Escluse ex art. 15", "N2": "Non soggette", "N2.1": "Non soggette artt. 7-7-septies",
    "N2.2": "Non soggette - altri casi", "N3": "Non imponibili", "N3.1": "Esportazioni",
    "N3.2": "Cessioni intracomunitarie", "N3.3": "Cessioni verso San Marino",
    "N3.4": "Operazioni assimilate alle esportazioni",
    "N3.5": "Non imponibili a seguito di dichiarazioni d'intento",
    "N3.6": "Altre operazioni non imponibili", "N4": "Esenti",
    "N5": "Regime del margine / IVA non esposta", "N6": "Inversione contabile",
    "N6.1": "Inversione contabile - rottami", "N6.2": "Inversione contabile - oro e argento",
    "N6.3": "Inversione contabile - subappalto edilizia",
    "N6.4": "Inversione contabile - cessione fabbricati",
    "N6.5": "Inversione contabile - telefoni cellulari",
    "N6.6": "Inversione contabile - prodotti elettronici",
    "N6.7": "Inversione contabile - comparto edile",
    "N6.8": "Inversione contabile - settore energetico",
    "N6.9": "Inversione contabile - altri casi", "N7": "IVA assolta in altro stato UE",
}

REGIME_FISCALE = {
    "RF01": "Ordinario", "RF02": "Contribuenti minimi", "RF04": "Agricoltura",
    "RF05": "Vendita sali e tabacchi", "RF06": "Commercio fiammiferi", "RF07": "Editoria",
    "RF08": "Gestione servizi telefonia pubblica",
    "RF09": "Rivendita documenti di trasporto pubblico", "RF10": "Intrattenimenti, giochi",
    "RF11": "Agenzie viaggi e turismo", "RF12": "Agriturismo", "RF13": "Vendite a domicilio",
    "RF14": "Rivendita beni usati, oggetti d'arte", "RF15": "Agenzie di vendite all'asta",
    "RF16": "IVA per cassa P.A.", "RF17": "IVA per cassa", "RF18": "Altro",
    "RF19": "Forfettario", "RF20": "Franchigia IVA transfrontaliera UE",
}

TIPO_RITENUTA = {
    "RT01": "Ritenuta persone fisiche", "RT02": "Ritenuta persone giuridiche",
    "RT03": "Contributo INPS", "RT04": "Contributo ENASARCO", "RT05": "Contributo ENPAM",
    "RT06": "Altro contributo previdenziale",
}

TIPO_CASSA = {
    "TC01": "Cassa forense (avvocati)", "TC02": "Cassa dottori commercialisti",
    "TC03": "Cassa geometri", "TC04": "Inarcassa (ingegneri e architetti)",
    "TC05": "Cassa del notariato", "TC06": "Cassa ragionieri e periti commerciali",
    "TC07": "ENASARCO", "TC08": "ENPACL", "TC09": "ENPAM", "TC10": "ENPAF", "TC11": "ENPAV",
    "TC12": "ENPAIA", "TC13": "Fondo imprese di spedizione e agenzie marittime",
    "TC14": "INPGI", "TC15": "ONAOSI", "TC16": "CASAGIT", "TC17": "EPPI", "TC18": "EPAP",
    "TC19": "ENPAB", "TC20": "ENPAPI", "TC21": "ENPAP", "TC22": "INPS",
}

ESIGIBILITA_IVA = {
    "I": "Immediata", "D": "Differita", "S": "Scissione dei pagamenti",
}

TIPO_SCONTO = {"SC": "Sconto", "MG": "Maggiorazione"}


def describe(table: dict[str, str], code: str | None) -> str:
    """``TD01 - Fattura``; an unknown code alone; ``None`` → empty string."""
    if not code:
        return ""
    label = table.get(code)
    return f"{code} - {label}" if label else code
