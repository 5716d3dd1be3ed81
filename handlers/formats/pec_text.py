"""The human-readable text/plain + text/html pair at the top of every PEC receipt and envelope.

Wording follows the real Aruba receipts and Sogei envelopes in ``../shared/ref/pec`` (Italian,
iso-8859-1 quoted-printable, date as ``dd/mm/yyyy`` / ``hh:mm:ss`` plus ``(+0100)``). Nothing
machine-reads this text — consumers use headers and daticert.xml (domain.md §4.1–4.2) — but a
person opening a sandbox mailbox should see what a real mailbox shows.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from handlers.formats.pec_mime import Part, qp_text_part

__all__ = ["human_text"]

# kind -> (title, what happened to the message, shown after "il messaggio ...")
_WORDING: dict[str, tuple[str, str]] = {
    "accettazione": ("Ricevuta di accettazione", "è stato accettato dal sistema ed inoltrato."),
    "non-accettazione": (
        "Avviso di non accettazione",
        "non è stato accettato per il seguente motivo:\n{errore}",
    ),
    "presa-in-carico": ("Ricevuta di presa in carico", "è stato preso in carico dal gestore."),
    "avvenuta-consegna": (
        "Ricevuta di avvenuta consegna",
        "è stato correttamente consegnato al destinatario.",
    ),
    "errore-consegna": (
        "Avviso di mancata consegna",
        'non è stato consegnato a "{consegna}" per il seguente motivo:\n{errore}',
    ),
    "preavviso-errore-consegna": (
        "Avviso di mancata consegna per superamento dei tempi massimi",
        'non è stato ancora consegnato a "{consegna}" entro le prime 12 ore dall\'invio.\n'
        "Il gestore continuerà a tentare la consegna fino a 24 ore dall'invio.",
    ),
    "rilevazione-virus": ("Problema di sicurezza", "contiene un virus: {errore}"),
    "posta-certificata": ("Messaggio di posta certificata", "e' stato inviato da \"{sender}\""),
    "errore": (
        "Anomalia nel messaggio",
        "e' stato ricevuto da \"{sender}\" ma non e' un messaggio di posta certificata "
        "valido.\nIl messaggio non e' certificato: non ha valore legale.",
    ),
}


def human_text(
    kind: str,
    when: dt.datetime,
    *,
    subject: str,
    sender: str,
    identificativo: str,
    recipients: str,
    consegna: str,
    errore: str,
) -> tuple[Part, Part]:
    """The (text/plain, text/html) parts for a message of ``kind`` (X-Ricevuta / X-Trasporto
    value) certified at ``when`` (already in Italian time)."""
    title, outcome = _WORDING[kind]
    outcome = outcome.format(sender=sender, consegna=consegna, errore=errore)
    stamp = f"{when:%d/%m/%Y} alle ore {when:%H:%M:%S} ({when:%z})"
    envelope = kind in ("posta-certificata", "errore")
    to_line = consegna if kind == "avvenuta-consegna" and consegna else recipients
    if envelope:
        plain = [title, "", "  -----", "", f"Il giorno {stamp} il messaggio",
                 f'"{subject}" {outcome}', "indirizzato a:", to_line, "",
                 "Il messaggio originale e' incluso in allegato.",
                 f"Identificativo messaggio: {identificativo}"]
    else:
        plain = [f'-- {title} del messaggio indirizzato a {to_line} ("posta certificata") --',
                 "", f"Il giorno {stamp} il messaggio con Oggetto",
                 f'"{subject}" inviato da "{sender}"', "ed indirizzato a:", to_line, outcome,
                 f"Identificativo del messaggio: {identificativo}",
                 "L'allegato daticert.xml contiene informazioni di servizio sulla trasmissione"]
    html = [
        "<html>",
        f"<head><title>{escape(title)}</title></head>",
        "<body>",
        f"<h3>{escape(title)}</h3>",
        "<hr><br>",
        f"Il giorno {stamp} il messaggio<br>",
        f"&quot;{escape(subject, quote=False)}&quot; proveniente da "
        f"&quot;{escape(sender, quote=False)}&quot;<br>",
        f"indirizzato a:<br>\n{escape(to_line)}<br>",
        escape(outcome, quote=False).replace("\n", "<br>\n") + "<br>",
        f"Identificativo messaggio: {escape(identificativo)}<br>",
        "</body>",
        "</html>",
    ]
    return (
        qp_text_part("text/plain", "\n".join(plain) + "\n"),
        qp_text_part("text/html", "\n".join(html) + "\n"),
    )
