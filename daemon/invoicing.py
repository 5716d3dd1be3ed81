"""The active cycle's use-cases: create an invoice, and send (or resend) it to SdI.

Send = build -> validate (a file SdI would reject is stopped here with the findings) -> sign
(mandatory for FPA12, domain.md §5.1) -> archive -> one PEC message with one file to sdi01, or to
the sdiNN address SdI assigned (§4.1) -> outbox row, all in the caller's transaction: if it
fails nothing is sent and the file progressive is given back. Only the outbox sends.

The file, byte-identical as sent, and its PEC message also become an archival unit in the
conservation backend (daemon/archive/active_units.py, domain.md §6.3) in that same
transaction: a file is never on its way to SdI without being under retention.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.archive import active_units
from daemon.archive.conservation import conservation_of
from daemon.config_invoicing import InvoicingSettings
from handlers.active import build as builder
from handlers.active import parties as pure_parties
from handlers.active.draft import Draft, from_json
from handlers.active.mail import sdi_message
from handlers.active.states import ISSUED, NEEDS_RESEND, State
from handlers.formats import fatturapa as fp
from handlers.formats.filenames import build_invoice_file_name, encode_progressive
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sig_common import Pkcs12Signer, Signer
from handlers.formats.xades_sign import sign_xades_bes
from store import invoice_tracking as tracking
from store import invoices, outbox, parties
from store.archive import Archive
from store.models_active import Invoice, InvoiceTransmission
from store.models_parties import Party, PartyRole

SDI01 = "sdi01@pec.fatturapa.it"


class InvoiceError(ValueError):
    """The request cannot be carried out; the message says why (exit code 1 in the CLI)."""


class WouldBeRejected(InvoiceError):
    """SdI would discard the file: the findings say what to fix."""

    def __init__(self, findings: list[fp.Finding]) -> None:
        self.findings = findings
        lines = [f"{f.code} {f.xpath}: {f.message_it}" for f in findings]
        super().__init__("SdI would reject this invoice:\n  " + "\n  ".join(lines))


def party_data(p: Party) -> pure_parties.PartyData:
    """The pure view of an address-book row."""
    return pure_parties.PartyData(
        key=p.key, kind=p.kind.value, indirizzo=p.indirizzo, cap=p.cap, comune=p.comune,
        nazione=p.nazione, denominazione=p.denominazione, nome=p.nome, cognome=p.cognome,
        id_paese=p.id_paese, id_codice=p.id_codice, codice_fiscale=p.codice_fiscale,
        numero_civico=p.numero_civico, provincia=p.provincia,
        codice_destinatario=p.codice_destinatario, pec_destinatario=p.pec_destinatario,
        regime_fiscale=p.regime_fiscale, email=p.email, extra=dict(p.extra or {}),
    )


async def _seller(session: AsyncSession, key: str | None) -> Party:
    seller = await parties.get(session, key) if key else await parties.default_seller(session)
    if seller is None or seller.role is not PartyRole.SELLER:
        raise InvoiceError(f"no seller profile {key!r}" if key else
                           "no seller profile (add one, or name it in [invoicing] seller)")
    bad = pure_parties.problems(party_data(seller), seller=True)
    if bad:
        raise InvoiceError(f"seller {seller.key}: " + "; ".join(bad))
    return seller


async def _customer(session: AsyncSession, key: str) -> Party:
    customer = await parties.get(session, key)
    if customer is None or customer.role is not PartyRole.CUSTOMER:
        raise InvoiceError(f"no customer {key!r} in the address book")
    bad = pure_parties.problems(party_data(customer))
    if bad:
        raise InvoiceError(f"customer {customer.key}: " + "; ".join(bad))
    return customer


def _errors(invoice: fp.FatturaElettronica) -> list[fp.Finding]:
    return [f for f in fp.validate(invoice) if f.severity == "error"]


async def create_invoice(session: AsyncSession, draft: Draft, *, cfg: InvoicingSettings,
                         now: datetime) -> Invoice:
    """Number and store ``draft`` (state draft) after checking SdI would accept it."""
    seller = await _seller(session, draft.seller or cfg.seller)
    customer = await _customer(session, draft.customer)
    when = date.fromisoformat(draft.date) if draft.date else now.date()
    corrects = None
    if draft.tipo == "TD04" or draft.corrects:
        assert draft.corrects is not None
        corrects = await invoices.by_numero(session, draft.corrects, seller_id=seller.id,
                                            year=draft.corrects_year)
        if corrects is None:
            raise InvoiceError(f"no invoice {draft.corrects!r} to correct")
    register = draft.register
    if register is None:
        register = (cfg.credit_note_register if draft.tipo == "TD04" else None)
        register = cfg.default_register if register is None else register
    if register not in cfg.registers:
        raise InvoiceError(f"unknown register {register!r} (see [invoicing.registers])")
    number = await invoices.allocate_number(session, seller.id, register, when.year)
    numero = cfg.registers[register].format(number=number, year=when.year, register=register)
    model = builder.build(draft, seller=party_data(seller), customer=party_data(customer),
                          numbering=_numbering(numero, when, "00000", corrects))
    errors = _errors(model)
    if errors:
        raise WouldBeRejected(errors)
    body = model.bodies[0].dati_beni_servizi
    return await invoices.create(session, invoices.NewInvoice(
        seller_id=seller.id, customer_id=customer.id, register=register, year=when.year,
        number=number, numero=numero, tipo_documento=draft.tipo, data=when,
        formato=model.versione, pa=model.versione == "FPA12",
        total=str(builder.total_of(model)), description=draft.to_json(),
        lines=[{
            "numero_linea": ln.numero_linea, "descrizione": ln.descrizione,
            "quantita": str(ln.quantita) if ln.quantita is not None else None,
            "unita_misura": ln.unita_misura, "prezzo_unitario": str(ln.prezzo_unitario),
            "prezzo_totale": str(ln.prezzo_totale), "aliquota_iva": str(ln.aliquota_iva),
            "natura": ln.natura,
        } for ln in body.dettaglio_linee],
        corrects_id=corrects.id if corrects else None, auto_send=draft.auto_send,
    ), now=now)


def _numbering(numero: str, when: date, progressivo: str,
               corrects: Invoice | None) -> builder.Numbering:
    return builder.Numbering(numero, when, progressivo,
                             (corrects.numero, corrects.data) if corrects else None)


@functools.cache
def _sandbox_signer() -> Signer:
    return make_sandbox_pki("pecora venditore (sandbox)")[1]


def load_signer(cfg: InvoicingSettings, *, sandbox: bool) -> Signer | None:
    """The configured signer; in sandbox mode without one, a throw-away sandbox key."""
    if cfg.signing.pkcs12 is not None:
        password = cfg.signing.password.resolve().encode() if cfg.signing.password else None
        return Pkcs12Signer.from_bytes(cfg.signing.pkcs12.read_bytes(), password)
    return _sandbox_signer() if sandbox else None


@dataclass(frozen=True, slots=True)
class SendContext:
    """What sending needs besides the session: settings, signer, archive, our PEC address,
    and the official XSD when one is installed (`daemon.schemas`)."""

    cfg: InvoicingSettings
    signer: Signer | None
    archive: Archive
    sender: str
    official: fp.OfficialSchema | None = None


async def send_invoice(session: AsyncSession, invoice_id: int, ctx: SendContext, *,
                       now: datetime) -> InvoiceTransmission:
    """Build, validate, sign and queue the invoice's file (see the module docstring).

    A draft is sent; a file refused by the provider, not delivered, or rejected by SdI is sent
    again under a new file name with the same Numero and Data (§1.5); an invoice SdI accepted
    is never sent again (only a credit note corrects it).
    """
    invoice = await invoices.get(session, invoice_id)
    if invoice is None:
        raise InvoiceError(f"no invoice {invoice_id}")
    state = State(invoice.state.value)
    if state in ISSUED:
        raise InvoiceError(f"invoice {invoice.numero} was accepted by SdI ({state}): only a "
                           "credit note (TD04) corrects it")
    if state is not State.DRAFT and state not in NEEDS_RESEND:
        raise InvoiceError(f"invoice {invoice.numero} is {state}: nothing to send")
    seller = await _seller(session, (await parties.by_id(session, invoice.seller_id)).key)  # type: ignore[union-attr]
    customer = await parties.by_id(session, invoice.customer_id)
    assert customer is not None
    corrects = await invoices.get(session, invoice.corrects_id) if invoice.corrects_id else None
    progressive = encode_progressive(await invoices.allocate_progressive(session))
    model = builder.build(from_json(invoice.description), seller=party_data(seller),
                          customer=party_data(customer),
                          numbering=_numbering(invoice.numero, invoice.data, progressive,
                                               corrects))
    errors = _errors(model)
    if errors:
        raise WouldBeRejected(errors)
    xml = fp.write(model)
    if ctx.official is not None:  # the published schema as a second opinion (a bug of ours)
        xsd_errors = ctx.official.findings(xml)
        if xsd_errors:
            raise WouldBeRejected(xsd_errors)
    sign = invoice.formato == "FPA12" or ctx.cfg.signing.sign_fpr12
    if sign and ctx.signer is None:
        raise InvoiceError(f"{invoice.formato} must be signed: configure [invoicing.signing]")
    kind, ext, content = "none", ".xml", xml
    if sign and ctx.signer is not None:
        if ctx.cfg.signing.format == "xades":
            kind, content = "xades", sign_xades_bes(xml, ctx.signer, signing_time=now)
        else:
            kind, ext = "cades", ".xml.p7m"
            content = sign_cades_bes(xml, ctx.signer, signing_time=now)
    assert seller.id_paese and seller.id_codice
    file_name = build_invoice_file_name(seller.id_paese, seller.id_codice, progressive, ext)
    sha = await ctx.archive.put(content)
    to = await tracking.sdi_address(session, ctx.sender) or SDI01
    domain = ctx.sender.rpartition("@")[2] or "pecora.invalid"
    message_id = f"<{file_name}.{secrets.token_hex(8)}@{domain}>"
    raw = sdi_message(file_name=file_name, content=content, sender=ctx.sender, to=to,
                      message_id=message_id, date=now)
    outbox_id = await outbox.enqueue(session, outbox.NewOutgoing(
        channel=ctx.cfg.channel, payload=raw, recipients=(to,),
        idempotency_key=f"invoice-file:{file_name}", sender=ctx.sender, message_id=message_id,
        subject_ref=f"invoice:{invoice.id}",
    ), now=now)
    assert hashlib.sha256(content).hexdigest() == sha
    await active_units.archive_sent_file(
        session, conservation_of(ctx.archive), invoice=invoice, seller=seller,
        customer=customer, file_name=file_name, content=content, signature=kind, message=raw,
        now=now)
    return await invoices.add_transmission(session, invoice, invoices.NewTransmission(
        file_name=file_name, signature=kind, sha256=sha, size=len(content),
        outbox_id=outbox_id, message_id=message_id, sdi_address=to,
    ), now=now)
