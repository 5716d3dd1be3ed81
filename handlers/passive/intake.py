"""Intake of an invoice file SdI delivered to us: check, unwrap, verify, parse, split, record.

Steps (domain.md §3.2, §4.1, §5.2; peers-sdi.md intake pains):

1. ``check-invoice-delivery`` — for each invoice file of the envelope's postacert.eml: the
   SHA-256 of the file *as received* against the MT ``Hash`` (absent from real MTs: noted, not
   fatal); a p7m (DER, BER, base64, nested) is unwrapped and its CAdES signature verified at
   signing time — an untrusted or expired-now signer is reported, a broken signature
   (``Failure.signature_broken``) flags the file as tampered, neither stops the intake; the
   XML is parsed (lots split into bodies). What cannot be read (not a p7m, not FatturaPA, no
   invoice key) quarantines the envelope with the reason: kept raw, the mailbox goes on.
2. ``record-invoice-delivery`` — one `StoreReceivedFile` effect per file; the applier stores
   it (duplicates by IdentificativoSdI, SHA-256 and seller+year+number+type) and archives the
   file byte-identical with the MT (the envelope is already in the archive as the inbox item).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers.formats import fatturapa, p7m
from handlers.formats.pec import PecAttachment, PecMessage
from handlers.formats.sdi import MalformedSdiMessage, UnknownSdiMessage, parse_sdi_message
from handlers.formats.sdi_types import MetadatiInvioFile
from handlers.formats.xmlsafe import MalformedXml, UnsafeXml
from handlers.passive.facts import DEFAULT_POLICY, IntakeTrust, PassivePolicy
from handlers.passive.records import InvoiceRecord, Unidentifiable, invoice_records
from handlers.registry import handler
from handlers.sdi_mail import SdiDelivery
from handlers.work import Disposition, Effect, Stop, Work

#: The PA has 15 days from delivery to send an EC; then SdI sends DT (domain.md §3.3).
EC_WINDOW = timedelta(days=15)
_EMPTY_TRUST = IntakeTrust()


@dataclass(frozen=True, slots=True)
class Signature:
    """What the p7m check found: ``valid`` | ``untrusted`` | ``tampered`` | ``unsigned``."""

    status: str
    detail: str | None = None
    signer: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """One invoice file of the envelope after every check (a fact for the next step)."""

    file_name: str
    content: bytes  # the file as received (p7m included): archived byte-identical
    sha256: str
    hash_check: str  # ok | mismatch | absent
    signature: Signature
    formato: str | None
    codice_destinatario: str | None
    invoices: tuple[InvoiceRecord, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReceivedFileFacts:
    """The checked files of one envelope, with the MT and where it came from."""

    files: tuple[CheckedFile, ...]
    metadata: MetadatiInvioFile | None
    mt_name: str | None
    mt_content: bytes | None
    sdi_address: str | None
    our_address: str | None
    pec_identificativo: str | None
    delivered_at: datetime


@dataclass(frozen=True, slots=True)
class StoreReceivedFile(Effect):
    """Store one received file, its invoices and this delivery; archive file, MT, Allegati."""

    file: CheckedFile
    identificativo_sdi: str | None
    mt_name: str | None
    mt_content: bytes | None
    sdi_address: str | None
    our_address: str | None
    pec_identificativo: str | None
    envelope_sha256: str
    delivered_at: datetime
    ec_required: bool
    deadline: datetime | None


def _signature(content: bytes, trust: IntakeTrust, now: datetime) -> tuple[bytes, Signature]:
    """Unwrap a p7m and judge its signature; raise `MalformedP7m` when it is not one."""
    unwrapped = p7m.unwrap(content)
    try:
        verdict = p7m.verify(unwrapped, trust.store)
    except ValueError as exc:  # a signer structure asn1crypto cannot read
        return unwrapped.content, Signature("tampered", f"signature unreadable: {exc}")
    if verdict.ok:
        status, detail = "valid", None
    elif verdict.failure is not None and verdict.failure.signature_broken:
        status, detail = "tampered", verdict.reason  # the bytes do not match the signature
    else:
        status, detail = "untrusted", verdict.reason  # intact, but the signer is not trusted
    after = verdict.cert_not_after
    if after is not None and after < now:
        # Judged at signing time (§5.2): a certificate that expired since is still fine.
        expired = f"signer certificate expired {after.date().isoformat()} (after signing)"
        detail = f"{detail}; {expired}" if detail else expired
    return unwrapped.content, Signature(status, detail, verdict.signer_subject)


def _is_p7m(att: PecAttachment) -> bool:
    return att.filename.lower().endswith(".p7m")


def _check_file(
    att: PecAttachment, mt: MetadatiInvioFile | None, trust: IntakeTrust, now: datetime
) -> CheckedFile | str:
    """Check one invoice file; return it, or why the envelope must be held."""
    notes: list[str] = []
    digest = hashlib.sha256(att.content).hexdigest()
    if mt is None or not mt.hash:
        hash_check = "absent"  # real MTs (2018 B2B, every PA one) carry no Hash (§3.2)
    elif mt.hash.strip().lower() == digest:
        hash_check = "ok"
    else:
        hash_check = "mismatch"
        notes.append(f"MT Hash {mt.hash} differs from the SHA-256 of the file as received")
    if mt is not None and mt.nome_file and mt.nome_file != att.filename:
        notes.append(f"MT names {mt.nome_file}, the file is {att.filename}")
    xml = att.content
    signature = Signature("unsigned")
    if _is_p7m(att):
        try:
            xml, signature = _signature(att.content, trust, now)
        except p7m.MalformedP7m as exc:
            return f"invoice file {att.filename} is not a readable p7m: {exc}"
        if signature.status == "tampered":
            notes.append(f"signature broken: {signature.detail}")
    try:
        parsed = fatturapa.parse_report(xml)
        invoice = parsed.invoice
        records = invoice_records(invoice, fatturapa.extract_attachments(invoice))
    except (fatturapa.FatturaPAError, MalformedXml, UnsafeXml, Unidentifiable) as exc:
        return f"invoice file {att.filename} is not a readable FatturaPA invoice: {exc}"
    if parsed.findings:
        notes.append(f"{len(parsed.findings)} schema findings (first: "
                     f"{parsed.findings[0].code} {parsed.findings[0].message_en})")
    dt = invoice.header.dati_trasmissione if invoice.header else None
    formato = (mt.formato if mt and mt.formato in ("FPA12", "FPR12") else None) or (
        dt.formato_trasmissione if dt else None) or invoice.versione
    codice = (dt.codice_destinatario if dt else None) or (mt.codice_destinatario if mt else None)
    return CheckedFile(att.filename, att.content, digest, hash_check, signature, formato,
                       codice, records, tuple(notes))


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@handler("check-invoice-delivery")
def check_invoice_delivery(work: Work) -> Work | Stop:
    """Step 1 (see the module docstring)."""
    delivery = work.require(SdiDelivery)
    pec = work.require(PecMessage)
    if not delivery.invoices:
        return work.stop(Disposition.QUARANTINE,
                         "SdI envelope with an MT but no invoice file (nothing to take in)")
    metadata = None
    if delivery.metadata is not None:
        try:
            message = parse_sdi_message(delivery.metadata.content)
        except (MalformedSdiMessage, UnknownSdiMessage, MalformedXml, UnsafeXml) as exc:
            return work.stop(Disposition.QUARANTINE,
                             f"unreadable MT {delivery.metadata.filename}: {exc}")
        if isinstance(message, MetadatiInvioFile):
            metadata = message
    trust = work.fact(IntakeTrust) or _EMPTY_TRUST
    cert = pec.daticert
    delivered = _utc(cert.data if cert else None) or _utc(pec.date) or _utc(work.received_at)
    assert delivered is not None
    received = _utc(work.received_at)
    assert received is not None
    checked: list[CheckedFile] = []
    for att in delivery.invoices:
        # "expired now" is judged against when we got it, validity against signing time.
        result = _check_file(att, metadata, trust, received)
        if isinstance(result, str):
            return work.stop(Disposition.QUARANTINE, result)
        checked.append(result)
    inner = pec.postacert
    return work.with_facts(ReceivedFileFacts(
        files=tuple(checked),
        metadata=metadata,
        mt_name=delivery.metadata.filename if delivery.metadata else None,
        mt_content=delivery.metadata.content if delivery.metadata else None,
        sdi_address=pec.mittente,
        our_address=inner.to[0] if inner is not None and inner.to else None,
        pec_identificativo=cert.identificativo if cert else pec.message_id,
        delivered_at=delivered,
    ))


@handler("record-invoice-delivery")
def record_invoice_delivery(work: Work) -> Work | Stop:
    """Step 2 (see the module docstring)."""
    facts = work.require(ReceivedFileFacts)
    policy = work.fact(PassivePolicy) or DEFAULT_POLICY
    envelope = hashlib.sha256(work.raw).hexdigest()
    ident = facts.metadata.identificativo_sdi if facts.metadata else None
    effects = []
    for index, file in enumerate(facts.files):
        ec = policy.ec_required(file.formato, file.codice_destinatario)
        effects.append(StoreReceivedFile(
            file=file,
            # One MT per envelope names one file: a second file has no id of its own.
            identificativo_sdi=ident if index == 0 else None,
            mt_name=facts.mt_name,
            mt_content=facts.mt_content,
            sdi_address=facts.sdi_address,
            our_address=facts.our_address,
            pec_identificativo=facts.pec_identificativo,
            envelope_sha256=envelope,
            delivered_at=facts.delivered_at,
            ec_required=ec,
            deadline=facts.delivered_at + EC_WINDOW if ec else None,
        ))
    return work.with_effects(*effects)
