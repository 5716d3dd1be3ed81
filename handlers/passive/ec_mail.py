"""Pure builders of the mail a decision sends: the EC to SdI, the B2B reply to the supplier.

A PA recipient answers a delivered FPA12 with an EC (EsitoCommittente, EC01 accepted / EC02
refused with Descrizione) named ``<stem>_EC_nnn.xml``, mailed to the ``sdiNN`` address that
delivered the invoice (domain.md §2, §3.2, §4.1). The Message-ID is fixed here, before the
first attempt, so a retry is byte-identical and PEC receipts find the outbox row (§4.2).

`DecisionMailer` is what ``store.passive`` use-cases are handed (they may not import handlers):
its two methods take plain values and return ``(payload, message_id, attachment_name)``.
"""

from __future__ import annotations

import email.utils
import hashlib
import string
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP

from handlers.formats.sdi_ec import build_esito_committente, ec_file_name
from handlers.formats.sdi_types import Esito, RiferimentoFattura

DEFAULT_REPLY = (
    "Gentile $seller,\n\n"
    "la fattura n. $numero del $data (file $file_name, identificativo SdI $identificativo) "
    "non e' stata accettata.\nMotivo: $reason\n\nCordiali saluti\n"
)


def _message_id(kind: str, key: str, domain: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<{kind}.{digest}@{domain}>"


def build_ec_mail(
    *,
    sender: str,
    sdi_address: str,
    invoice_file_name: str,
    identificativo_sdi: str,
    counter: int,
    esito: str,
    descrizione: str | None,
    message_id_committente: str,
    riferimento: tuple[str, int, int] | None,
    when: datetime,
) -> tuple[bytes, str, str]:
    """The PEC message carrying our EC; return (payload, Message-ID, EC file name).

    ``riferimento`` = (NumeroFattura, AnnoFattura, PosizioneFattura) narrows the EC to one
    invoice of a lot; None answers for the whole file.
    """
    rif = RiferimentoFattura(*riferimento) if riferimento is not None else None
    esito_value = Esito(esito)
    ec = build_esito_committente(
        identificativo_sdi, rif, esito_value,
        descrizione if esito_value is Esito.EC02 else None, message_id_committente)
    name = ec_file_name(invoice_file_name, counter)
    domain = sender.rpartition("@")[2] or "pecora.invalid"
    mid = _message_id("ec", f"{identificativo_sdi}/{name}/{message_id_committente}", domain)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = sdi_address
    # SdI ignores subject and body (§4.1); people reading the sent folder do not.
    message["Subject"] = f"{name} - Esito committente {identificativo_sdi}"
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = mid
    message.set_content(f"Esito {esito_value.value} per il file {invoice_file_name} "
                        f"(IdentificativoSdI {identificativo_sdi}).\n")
    message.add_attachment(ec, maintype="application", subtype="xml", filename=name)
    return message.as_bytes(), mid, name


def build_reply_mail(
    *,
    template: str,
    sender: str,
    to: str,
    fields: dict[str, str],
    key: str,
    when: datetime,
) -> tuple[bytes, str]:
    """A plain reply to the supplier of a refused B2B invoice (SdI has no B2B refusal, §3.3).

    ``template`` uses ``$name`` placeholders (`string.Template`: no code, no attribute access);
    unknown placeholders are left as written. Return (payload, Message-ID).
    """
    body = string.Template(template).safe_substitute(fields)
    domain = sender.rpartition("@")[2] or "pecora.invalid"
    mid = _message_id("reply", key, domain)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = (
        f"Fattura {fields.get('numero', '')} del {fields.get('data', '')}: non accettata")
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = mid
    message.set_content(body)
    return message.as_bytes(), mid


@dataclass(frozen=True, slots=True)
class DecisionMailer:
    """The builders ``store.passive`` use-cases call, with the configured reply template."""

    reply_template: str = DEFAULT_REPLY

    def esito(
        self,
        *,
        sender: str,
        sdi_address: str,
        invoice_file_name: str,
        identificativo_sdi: str,
        counter: int,
        esito: str,
        descrizione: str | None,
        message_id_committente: str,
        riferimento: tuple[str, int, int] | None,
        when: datetime,
    ) -> tuple[bytes, str, str]:
        """See `build_ec_mail`."""
        return build_ec_mail(
            sender=sender, sdi_address=sdi_address, invoice_file_name=invoice_file_name,
            identificativo_sdi=identificativo_sdi, counter=counter, esito=esito,
            descrizione=descrizione, message_id_committente=message_id_committente,
            riferimento=riferimento, when=when)

    def reply(
        self, *, sender: str, to: str, fields: dict[str, str], key: str, when: datetime
    ) -> tuple[bytes, str]:
        """See `build_reply_mail` (with the configured template)."""
        return build_reply_mail(template=self.reply_template, sender=sender, to=to,
                                fields=fields, key=key, when=when)


def build_reminder_mail(
    *, sender: str, to: tuple[str, ...], invoice: str, deadline: datetime, left: str, key: str,
    when: datetime,
) -> tuple[bytes, str]:
    """A reminder to the deciders that an EC window is closing. Return (payload, Message-ID)."""
    domain = sender.rpartition("@")[2] or "pecora.invalid"
    mid = _message_id("reminder", key, domain)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"Fattura passiva da decidere entro {left}: {invoice}"
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = mid
    message.set_content(
        f"La fattura {invoice} attende accettazione o rifiuto.\n"
        f"Il termine per l'esito verso SdI scade il {deadline.isoformat(timespec='minutes')}; "
        "dopo, SdI invia la decorrenza termini e non accetta piu' esiti.\n")
    return message.as_bytes(), mid
