"""The checks the simulated SdI runs on a received invoice file, built on pecora's own codecs.

Pure (bytes and memory in, verdict out): the same file name, signature and FatturaPA rules that
pecora applies before sending are applied here on reception, in SdI's order (domain.md §1.4):
file name (00001), name reuse (00002), size (00003), signature (001xx), format (00200/00201),
content (004xx from `fatturapa.validate_bytes`, 00409 included) and duplicates (00404). SdI stops
at the first failing *stage* and lists that stage's errors (at most 200).

Signatures: the sandbox trusts every CA (there is no AgID trusted list on loopback), so an
*intact* signature passes whoever issued it, unless a `TrustStore` is given (then an unknown CA
is 00104); altered bytes are 00102, an FPA12 without signature is 00102 too (SdI's answer to an
unsigned PA invoice, domain.md §5.1).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Container
from dataclasses import dataclass

from handlers.formats import p7m, xades
from handlers.formats.fatturapa import FormatKind, parse, sniff, validate_bytes
from handlers.formats.filenames import InvalidFileName, parse_invoice_file_name
from handlers.formats.sdi_types import Errore, SdiFlow
from handlers.formats.sig_common import Failure, SignatureVerdict
from handlers.formats.trust import TrustStore

__all__ = [
    "MAX_FILE_BYTES",
    "Checked",
    "InvoiceKey",
    "InvoiceRef",
    "ZipProblem",
    "check_file",
    "error",
    "open_zip",
]

#: 00003: one invoice file (or zip) is at most 5 MB (domain.md §4.1).
MAX_FILE_BYTES = 5 * 1024 * 1024
_MAX_ERRORS = 200  # ListaErrori 1..200
_MAX_FORMAT_ERRORS = 50  # then SdI stops with 00201

# Short Italian descriptions, paraphrasing the "Elenco controlli" (domain.md §1.4).
_DESCRIPTIONS = {
    "00001": "Nome file non valido",
    "00002": "Nome file duplicato",
    "00003": "Le dimensioni del file superano quelle ammesse",
    "00100": "Certificato di firma scaduto",
    "00102": "File non integro (firma non valida)",
    "00103": "La firma digitale apposta manca del riferimento temporale",
    "00104": "La CA che ha rilasciato il certificato di firma non e' tra quelle accreditate",
    "00105": "Il riferimento temporale della firma e' successivo alla data di ricezione",
    "00106": "File / archivio vuoto o corrotto",
    "00107": "Il certificato di firma non e' valido",
    "00200": "File non conforme al formato",
    "00201": "Superato il numero massimo di errori di formato",
    "00404": "Fattura duplicata",
    "00409": "Fattura duplicata nel lotto",
}

# Signature failure -> SdI code (same mapping as `identify`, domain.md §1.4).
_SIGNATURE_CODES = {
    Failure.UNSIGNED: "00102", Failure.TAMPERED: "00102", Failure.MALFORMED: "00102",
    Failure.SIGNER_CERT: "00102", Failure.UNSUPPORTED: "00102",
    Failure.MISSING_ATTRIBUTE: "00102", Failure.NO_SIGNING_TIME: "00103",
    Failure.EXPIRED_AT_SIGNING: "00100", Failure.NOT_YET_VALID_AT_SIGNING: "00107",
    Failure.KEY_USAGE: "00107", Failure.NO_TRUST_ANCHORS: "00104",
    Failure.UNTRUSTED_CHAIN: "00104",
}


def error(code: str, detail: str | None = None) -> Errore:
    """An ``Errore`` with SdI's description for ``code`` and ``detail`` as the suggestion."""
    description = _DESCRIPTIONS.get(code, f"Errore {code}")
    return Errore(code, description[:255], (detail or description)[:2000])


@dataclass(frozen=True, slots=True)
class InvoiceKey:
    """What makes an invoice a duplicate (00404): seller, year of Data, Numero, TipoDocumento
    (domain.md §1.4 says the type may be part of the key: we include it, the lenient choice)."""

    seller: str
    year: int
    numero: str
    tipo: str


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    """One body of the file: its key and position in the lot (for RiferimentoFattura)."""

    key: InvoiceKey
    position: int


@dataclass(frozen=True, slots=True)
class Checked:
    """The verdict on one invoice file. ``content`` is the file as transmitted (hashes are
    computed on it, §3.2); ``xml`` the invoice inside (None if never reached)."""

    name: str
    content: bytes
    xml: bytes | None
    formato: str | None
    codice_destinatario: str | None
    pec_destinatario: str | None
    invoices: tuple[InvoiceRef, ...]
    errors: tuple[Errore, ...]

    @property
    def ok(self) -> bool:
        """True when SdI accepts the file."""
        return not self.errors

    @property
    def flow(self) -> SdiFlow:
        """PA messages for FPA12, B2B ones otherwise (what SdI answers a file in, §3.1)."""
        return SdiFlow.PA if self.formato == "FPA12" else SdiFlow.B2B


class ZipProblem(ValueError):
    """The archive is empty or unreadable (00106)."""


def open_zip(content: bytes) -> list[tuple[str, bytes]]:
    """The files of a zip archive, in order; raise `ZipProblem` (00106) if it has none or
    cannot be read. Each member is then checked as a file of its own (domain.md §2)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
            if sum(i.file_size for i in members) > 4 * MAX_FILE_BYTES:
                raise ZipProblem("archive expands beyond any acceptable size")
            files = [(i.filename, archive.read(i)) for i in members]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        if isinstance(exc, ZipProblem):
            raise
        raise ZipProblem(f"unreadable archive: {exc}") from exc
    if not files:
        raise ZipProblem("empty archive")
    return files


def _signature_error(verdict: SignatureVerdict, trust: TrustStore | None,
                     received: dt.datetime) -> Errore | None:
    if not verdict.ok:
        untrusted = verdict.failure in (Failure.NO_TRUST_ANCHORS, Failure.UNTRUSTED_CHAIN)
        if not (untrusted and verdict.intact and trust is None):
            code = _SIGNATURE_CODES.get(verdict.failure or Failure.MALFORMED, "00102")
            return error(code, verdict.reason)
    signed_at = verdict.signing_time
    if signed_at is not None:
        signed_at = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=dt.UTC)
        if signed_at > received:
            return error("00105", f"signing time {signed_at.isoformat()}")
    return None


def _unwrap_and_verify(name: str, content: bytes, trust: TrustStore | None,
                       received: dt.datetime) -> tuple[bytes | None, Errore | None]:
    """Stage 3: the XML inside and the signature verdict (None when acceptable)."""
    store = trust or TrustStore()
    if name.endswith(".p7m"):
        try:
            unwrapped = p7m.unwrap(content)
            verdict = p7m.verify(unwrapped, store)
        except p7m.MalformedP7m as exc:
            return None, error("00102", f"p7m illeggibile: {exc}")
        return unwrapped.content, _signature_error(verdict, trust, received)
    info = sniff(content)
    if info.xades_signed:
        return content, _signature_error(xades.verify(content, store), trust, received)
    if info.kind is FormatKind.FPA12:
        return content, error("00102", "una fattura FPA12 deve essere firmata (CAdES o XAdES)")
    return content, None


def _format_errors(xml: bytes) -> tuple[list[Errore], list[Errore]]:
    """Stages 4 and 5 from one validation pass: (format errors, content errors)."""
    info = sniff(xml)
    if info.kind not in (FormatKind.FPA12, FormatKind.FPR12):
        return [error("00200", f"{info.kind.value}: {info.detail}")], []
    formats: list[Errore] = []
    contents: list[Errore] = []
    for finding in validate_bytes(xml):
        if finding.severity != "error":
            continue
        target = formats if finding.code == "00200" else contents
        detail = f"{finding.xpath}: {finding.message_it}"
        target.append(Errore(finding.code, finding.message_it[:255], detail[:2000]))
    if len(formats) > _MAX_FORMAT_ERRORS:
        formats = [*formats[:_MAX_FORMAT_ERRORS], error("00201")]
    return formats, contents


def _refs(xml: bytes) -> tuple[str | None, str | None, str | None, tuple[InvoiceRef, ...]]:
    """FormatoTrasmissione, CodiceDestinatario, PECDestinatario and the bodies' keys."""
    try:
        invoice = parse(xml)
    except ValueError:
        return sniff(xml).versione, None, None, ()
    header = invoice.header
    seller_id = header.cedente_prestatore.dati_anagrafici.id_fiscale_iva
    seller = f"{seller_id.id_paese}{seller_id.id_codice}"
    refs = []
    for position, body in enumerate(invoice.bodies, start=1):
        doc = body.dati_generali.dati_generali_documento
        refs.append(InvoiceRef(InvoiceKey(seller, doc.data.year, doc.numero,
                                          doc.tipo_documento), position))
    trasmissione = header.dati_trasmissione
    return (invoice.versione, trasmissione.codice_destinatario, trasmissione.pec_destinatario,
            tuple(refs))


def _formato(content: bytes) -> str | None:
    try:
        xml = p7m.unwrap(content).content if sniff(content).kind is FormatKind.CMS else content
    except ValueError:  # MalformedP7m and any other refusal: the flow stays unknown (B2B)
        return None
    return sniff(xml).versione


def check_file(
    name: str,
    content: bytes,
    *,
    received: dt.datetime,
    names_seen: Container[str],
    accepted: Container[InvoiceKey],
    trust: TrustStore | None = None,
) -> Checked:
    """Run SdI's checks on the file ``name`` (``.xml`` or ``.xml.p7m``) received at
    ``received``. ``names_seen`` holds the stems of every file name ever received (00002 is
    permanent, discarded files included); ``accepted`` the keys of invoices SdI accepted."""

    def verdict(errors: list[Errore], xml: bytes | None = None,
                read: tuple[str | None, str | None, str | None, tuple[InvoiceRef, ...]]
                | None = None) -> Checked:
        if read is None:
            # Even a file refused early is answered in its own flow (PA or B2B, §3.1).
            read = _refs(xml) if xml is not None else (_formato(content), None, None, ())
        formato, codice, pec, refs = read
        return Checked(name, content, xml, formato, codice, pec, refs,
                       tuple(errors[:_MAX_ERRORS]))

    try:
        parsed = parse_invoice_file_name(name)
    except InvalidFileName as exc:
        return verdict([error("00001", str(exc))])
    if parsed.extension == ".zip":
        return verdict([error("00001", "un archivio non puo' contenere un altro archivio")])
    if parsed.stem in names_seen:
        return verdict([error("00002", f"{parsed.stem} gia' ricevuto")])
    if len(content) > MAX_FILE_BYTES:
        return verdict([error("00003", f"{len(content)} byte")])
    xml, signature = _unwrap_and_verify(name, content, trust, received)
    if xml is None or signature is not None:
        return verdict([signature or error("00102")], xml)
    formats, contents = _format_errors(xml)
    if formats:
        return verdict(formats, xml)
    read = _refs(xml)
    # 00409 (the same invoice twice in one lot) is one of validate's content checks.
    duplicates = [error("00404", f"{ref.key.numero}/{ref.key.year} gia' accettata")
                  for ref in read[3] if ref.key in accepted]
    return verdict(contents + duplicates, xml, read)
