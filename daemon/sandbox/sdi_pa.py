"""A simulated PA recipient's answer: the EC mail it sends back to SdI.

Within 15 days of delivery a PA accepts (EC01) or refuses (EC02) an FPA12 by sending an EC
(``NotificaEsitoCommittente``, built by pecora's `build_esito_committente`) named
``<stem>_EC_nnn.xml`` to the ``sdiNN`` address that delivered the invoice (domain.md §2, §3.3,
§4.1). The sandbox SdI mails it through the network like any PEC user, so the EC comes back to
SdI the same way one from a real recipient (pecora) would.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from email.policy import SMTP

from handlers.formats.sdi_ec import build_esito_committente, ec_file_name
from handlers.formats.sdi_types import Esito, RiferimentoFattura

__all__ = ["PA_DOMAIN", "esito_mail", "pa_address"]

#: Mail domain of the simulated PA offices that have no address in their scenario.
PA_DOMAIN = "pa.sandbox.test"


def pa_address(codice: str | None) -> str:
    """The PEC address a simulated PA office uses when its scenario names none."""
    return f"{(codice or 'ufficio').lower()}@{PA_DOMAIN}"


def esito_mail(
    *,
    sender: str,
    sdi_address: str,
    invoice_name: str,
    identificativo_sdi: str,
    esito: Esito,
    reason: str | None,
    when: dt.datetime,
    serial: int,
    riferimento: RiferimentoFattura | None = None,
) -> bytes:
    """The mail a PA sends to SdI with its EC for the file ``invoice_name``."""
    ec = build_esito_committente(identificativo_sdi, riferimento, esito,
                                 reason if esito is Esito.EC02 else None, f"PA{serial}")
    name = ec_file_name(invoice_name, 1)  # the PA's own counter: it sends one EC per file
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = sdi_address
    message["Subject"] = f"Esito committente {identificativo_sdi}"
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = f"<ec.{serial}.{identificativo_sdi}@{sender.rpartition('@')[2]}>"
    message.set_content(f"Esito {esito.value} per il file {invoice_name}.\n")
    message.add_attachment(ec, maintype="application", subtype="xml", filename=name)
    return message.as_bytes()
