"""What to do about an SdI error code (NS): short suggestions shown by `pecora invoice show`.

The meanings are those of domain.md §1.4. B2B scarti carry SdI's own ``Suggerimento``, which is
preferred when present; these texts fill in for the PA flow, which has none.
"""

from __future__ import annotations

_RESEND = "correggi e rinvia con `pecora invoice resend` (nuovo nome file, stesso numero e data)"

SUGGESTIONS: dict[str, str] = {
    "00001": "il nome file non rispetta la regola SdI: " + _RESEND,
    "00002": "nome file gia' usato (anche se scartato): " + _RESEND,
    "00003": "file oltre 5 MB: riduci gli allegati e " + _RESEND,
    "00100": "certificato di firma scaduto: rinnova il certificato e " + _RESEND,
    "00101": "certificato di firma revocato: usa un certificato valido e " + _RESEND,
    "00102": "firma non valida (FPA12 va firmata): controlla la chiave e " + _RESEND,
    "00103": "firma senza riferimento temporale: " + _RESEND,
    "00104": "CA del certificato non riconosciuta: usa un certificato qualificato e " + _RESEND,
    "00105": "riferimento temporale della firma successivo alla ricezione: " + _RESEND,
    "00107": "certificato non valido: " + _RESEND,
    "00200": "file non conforme al formato (XSD): il messaggio indica l'elemento; " + _RESEND,
    "00300": "IdFiscaleIVA del trasmittente non valido: correggi il profilo venditore",
    "00301": "partita IVA del cedente non valida: correggi il profilo venditore",
    "00305": "partita IVA del cliente non valida: correggi l'anagrafica del cliente",
    "00306": "codice fiscale del cliente non valido: correggi l'anagrafica del cliente",
    "00311": "CodiceDestinatario inesistente: verifica il codice (IPA per la PA) del cliente",
    "00312": "CodiceDestinatario non attivo: verifica il codice del cliente",
    "00400": "riga con aliquota 0 senza Natura: indica la Natura",
    "00401": "riga con Natura ma aliquota diversa da 0: correggi aliquota o Natura",
    "00403": "data fattura successiva alla ricezione: correggi la data",
    "00404": (
        "fattura duplicata (stesso cedente, anno e numero gia' accettati): se e' davvero una "
        "nuova fattura emettila con un nuovo numero; se e' un reinvio non serve"
    ),
    "00417": "il cliente non ha ne' partita IVA ne' codice fiscale: completa l'anagrafica",
    "00418": "data anteriore a quella del documento collegato: correggi la nota di credito",
    "00421": "Imposta non coerente con imponibile e aliquota: ricalcola il riepilogo",
    "00422": "ImponibileImporto non coerente con le righe: ricalcola il riepilogo",
    "00423": "PrezzoTotale non coerente con prezzo e quantita': correggi la riga",
    "00425": "il numero fattura deve contenere almeno una cifra",
    "00427": "lunghezza del CodiceDestinatario incoerente con il formato (PA 6, privati 7)",
}


def suggestion(code: str) -> str:
    """The suggestion for ``code`` (a generic one for codes not listed)."""
    return SUGGESTIONS.get(code, "vedi l'Elenco controlli SdI per il codice; " + _RESEND)
