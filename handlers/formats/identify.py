"""Identify any file pecora may meet and check it: what it is, its key fields, what is wrong.

One entry point, `identify`, for the ``pecora inspect`` command (and anyone who holds unknown
bytes): FatturaPA invoice (plain XML, CAdES ``.p7m`` in any encoding, XAdES-signed; legacy 1.1,
FSM10 and broken-namespace files recognised and reported), SdI message (both flows), PEC receipt
or envelope (``.eml``, with every attachment of the certified message identified in turn),
stand-alone ``daticert.xml``, or unknown.

Each result carries JSON-ready ``fields``, `Issue`s (with the SdI error code when one applies:
00001 file name, 00003 size, 00200 format, 004xx content, 001xx signature) and one `Signature`
per signature found, judged against the caller's `TrustStore` at signing time. Pure: bytes in,
values out; reading files and printing is the CLI's job.

An SdI message's own content (the errors listed in an NS, the EC02 in an NE) is a *field*, not
an issue: the file is fine, it just brings bad news. Unsigned SdI messages other than MT/EC are
an issue (the XSD makes ds:Signature mandatory, and without it nothing proves SdI sent it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from handlers.formats import daticert as daticert_mod
from handlers.formats import fatturapa as fp
from handlers.formats import filenames, p7m, pec, sdi, smime, xades, xmlsafe
from handlers.formats.fatturapa.sniff import FormatKind
from handlers.formats.render.labels import TIPO_DOCUMENTO
from handlers.formats.render.view import document_total, party_name
from handlers.formats.sig_common import Failure, SignatureVerdict
from handlers.formats.trust import TrustStore

__all__ = [
    "MAX_DEPTH", "MAX_INVOICE_BYTES", "Identification", "Issue", "Kind", "Signature",
    "exit_code", "identify",
]

#: SdI refuses invoice files above 5 MB (00003, domain.md §1.2).
MAX_INVOICE_BYTES = 5 * 1024 * 1024
#: Nesting limit (PEC → postacert → attachment → p7m payload …): hostile mail can nest forever.
MAX_DEPTH = 4
Severity = Literal["error", "warning"]


class Kind(enum.StrEnum):
    """What a file is."""

    INVOICE = "invoice"
    SDI_MESSAGE = "sdi-message"
    PEC = "pec"
    DATICERT = "daticert"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. ``code`` is the SdI error code when the finding maps to one."""

    code: str | None
    message: str
    where: str = ""
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


# Closest SdI code for a signature failure on an *invoice* (domain.md §1.4, 001xx).
_SDI_SIG_CODE = {
    Failure.TAMPERED: "00102", Failure.MALFORMED: "00102", Failure.SIGNER_CERT: "00102",
    Failure.UNSUPPORTED: "00102", Failure.MISSING_ATTRIBUTE: "00102",
    Failure.NO_SIGNING_TIME: "00103", Failure.EXPIRED_AT_SIGNING: "00100",
    Failure.NOT_YET_VALID_AT_SIGNING: "00107", Failure.KEY_USAGE: "00107",
    Failure.NO_TRUST_ANCHORS: "00104", Failure.UNTRUSTED_CHAIN: "00104",
}


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature verdict: ``format`` is cades, xades or smime."""

    format: Literal["cades", "xades", "smime"]
    verdict: SignatureVerdict
    sdi_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (verdict flattened)."""
        v = self.verdict
        return _jobj({
            "format": self.format, "ok": v.ok, "failure": v.failure.value if v.failure else None,
            "reason": v.reason, "intact": v.intact, "sdi_code": self.sdi_code,
            "signer_subject": v.signer_subject, "signer_issuer": v.signer_issuer,
            "signing_time": v.signing_time, "validated_at": v.validated_at,
            "cert_not_before": v.cert_not_before, "cert_not_after": v.cert_not_after,
            "chain": list(v.chain), "digest_algorithm": v.digest_algorithm,
        })


@dataclass(frozen=True, slots=True)
class Identification:
    """What one file (or nested part) is, its key fields, findings, signatures and parts."""

    name: str
    kind: Kind
    format: str
    readable: bool
    fields: dict[str, Any] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    signatures: tuple[Signature, ...] = ()
    parts: tuple[Identification, ...] = ()

    def problems(self) -> Iterator[str]:
        """Every error-level issue and failed signature, here and in nested parts."""
        for issue in self.issues:
            if issue.severity == "error":
                yield f"{self.name}: {issue.code or '-'} {issue.message}"
        for sig in self.signatures:
            if not sig.verdict.ok:
                yield f"{self.name}: {sig.format} signature not verified: {sig.verdict.reason}"
        for part in self.parts:
            yield from part.problems()

    @property
    def ok(self) -> bool:
        """Readable, and nothing wrong anywhere inside."""
        return self.readable and next(self.problems(), None) is None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, recursively."""
        return {
            "name": self.name, "kind": self.kind.value, "format": self.format,
            "readable": self.readable, "ok": self.ok, "fields": self.fields,
            "issues": [i.to_dict() for i in self.issues],
            "signatures": [s.to_dict() for s in self.signatures],
            "parts": [p.to_dict() for p in self.parts],
        }


def exit_code(results: Iterable[Identification]) -> int:
    """2 if a file is unreadable, else 1 if anything has problems, else 0."""
    results = list(results)
    if any(not r.readable for r in results):
        return 2
    return 1 if any(not r.ok for r in results) else 0


# --- helpers ------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """Make dataclass-derived values JSON-ready (dates ISO, Decimals as strings, enums)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _jobj(value: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _json(v) for k, v in value.items()}


@dataclass(frozen=True, slots=True)
class _Ctx:
    trust: TrustStore
    at: dt.datetime | None
    official: fp.OfficialSchema | None = None
    depth: int = 0

    def deeper(self) -> _Ctx:
        return dataclasses.replace(self, depth=self.depth + 1)


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _looks_like_mail(data: bytes) -> bool:
    head = data[:4096].lower()
    return any(h in head for h in (b"\nreceived:", b"\nmime-version:", b"\nx-trasporto:",
                                   b"\nx-ricevuta:")) or head.startswith(
        (b"received:", b"return-path:", b"mime-version:", b"from:", b"x-"))


# --- invoices -----------------------------------------------------------------------------


def _file_name_issues(name: str | None, signed_cms: bool) -> tuple[dict[str, Any], list[Issue]]:
    if not name:
        return {}, []
    info: dict[str, Any] = {"name": name}
    issues = []
    try:
        parsed = filenames.parse_invoice_file_name(name)
        info.update(valid=True, stem=parsed.stem, extension=parsed.extension)
        if signed_cms != parsed.extension.endswith(".p7m"):
            issues.append(Issue("00001", f"extension {parsed.extension} does not match the "
                                         f"content ({'CAdES p7m' if signed_cms else 'XML'})",
                                "file name"))
    except filenames.InvalidFileName as exc:
        info.update(valid=False, error=str(exc))
        issues.append(Issue("00001", f"file name not SdI-conformant: {exc}", "file name"))
    return info, issues


def _party(anagrafica: Any, id_iva: Any, cf: str | None) -> dict[str, Any]:
    vat = f"{id_iva.id_paese}{id_iva.id_codice}" if id_iva is not None else None
    return {"name": party_name(anagrafica), "vat": vat, "codice_fiscale": cf}


def _invoice_fields(inv: fp.FatturaElettronica) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:  # the reader leaves missing mandatory containers as None: report what exists
        h = inv.header
        t = h.dati_trasmissione
        out["transmission"] = {
            "trasmittente": f"{t.id_trasmittente.id_paese}{t.id_trasmittente.id_codice}",
            "progressivo_invio": t.progressivo_invio,
            "codice_destinatario": t.codice_destinatario,
            "pec_destinatario": t.pec_destinatario,
        }
        s = h.cedente_prestatore.dati_anagrafici
        out["seller"] = _party(s.anagrafica, s.id_fiscale_iva, s.codice_fiscale)
        b = h.cessionario_committente.dati_anagrafici
        out["buyer"] = _party(b.anagrafica, b.id_fiscale_iva, b.codice_fiscale)
    except AttributeError:
        pass
    docs = []
    for body in inv.bodies or ():
        try:
            d = body.dati_generali.dati_generali_documento
            total, computed = document_total(body)
            docs.append({
                "tipo": d.tipo_documento, "tipo_descrizione": TIPO_DOCUMENTO.get(
                    d.tipo_documento or ""), "numero": d.numero, "data": d.data,
                "divisa": d.divisa, "totale": total, "totale_calcolato": computed,
                "attachments": [{"name": a.nome_attachment, "format": a.formato_attachment,
                                 "size": len(a.attachment or b"")} for a in body.allegati],
            })
        except (AttributeError, TypeError, ArithmeticError):
            docs.append({"error": "body unreadable (missing mandatory data)"})
    out["documents"] = docs
    return _jobj(out)


def _invoice_xml(xml: bytes, name: str | None, ctx: _Ctx, *, container: dict[str, Any],
                 issues: list[Issue], signatures: list[Signature]) -> Identification:
    info = fp.sniff(xml)
    fields: dict[str, Any] = {"container": container, "encoding": info.encoding,
                              "bom": info.bom}
    if info.xades_signed:
        for v in xades.verify_all(xml, ctx.trust, at=ctx.at):
            signatures.append(Signature("xades", v, None if v.ok else _SDI_SIG_CODE.get(
                v.failure or Failure.MALFORMED)))
        if signatures and container.get("type") == "xml":
            container["type"] = "xades"
    for f in fp.validate_bytes(xml, official=ctx.official):
        issues.append(Issue(f.code, f.message_en, f.xpath, f.severity))
    if info.kind in (FormatKind.FPA12, FormatKind.FPR12, FormatKind.BAD_VERSIONE):
        with contextlib.suppress(fp.FatturaPAError):  # validate_bytes already reported it
            fields.update(_invoice_fields(fp.parse(xml)))
    else:
        fields["detail"] = info.detail
    return Identification(name or "", Kind.INVOICE, info.kind.value, True, fields,
                          tuple(issues), tuple(signatures))


def _invoice(data: bytes, name: str | None, ctx: _Ctx, cms: bool) -> Identification:
    fname, issues = _file_name_issues(name, cms)
    if len(data) > MAX_INVOICE_BYTES:
        issues.append(Issue("00003", f"file is {len(data)} bytes, SdI accepts at most 5 MB"))
    container: dict[str, Any] = {"type": "xml", "sha256": hashlib.sha256(data).hexdigest()}
    if fname:
        container["file_name"] = fname
    signatures: list[Signature] = []
    if cms:
        try:
            unwrapped = p7m.unwrap(data)
        except p7m.MalformedP7m as exc:
            return Identification(name or "", Kind.INVOICE, "p7m", False, {"container": container},
                                  (*issues, Issue("00102", f"unreadable p7m: {exc}")))
        container.update(type="p7m", layers=[[e.value for e in layer.encodings]
                                             for layer in unwrapped.layers])
        for v in p7m.verify_all(unwrapped, ctx.trust, at=ctx.at):
            signatures.append(Signature("cades", v, None if v.ok else _SDI_SIG_CODE.get(
                v.failure or Failure.MALFORMED)))
        data = unwrapped.content
    return _invoice_xml(data, name, ctx, container=container, issues=issues,
                        signatures=signatures)


# --- SdI messages, daticert -----------------------------------------------------------------

_UNSIGNED_OK = {filenames.NotificationType.MT, filenames.NotificationType.EC}


def _sdi(data: bytes, msg: sdi.SdiMessage, name: str | None, ctx: _Ctx) -> Identification:
    kind = msg.TYPE
    fields: dict[str, Any] = {"type": kind.value, "root": type(msg).__name__}
    fields.update(_jobj(dataclasses.asdict(msg)))
    issues: list[Issue] = []
    signatures: list[Signature] = []
    if msg.signed:
        signatures += [Signature("xades", v) for v in xades.verify_all(data, ctx.trust,
                                                                         at=ctx.at)]
    elif kind not in _UNSIGNED_OK:
        issues.append(Issue(None, f"{kind.value} is not signed: nothing proves SdI sent it"))
    nome_file = getattr(msg, "nome_file", None)
    if name:
        try:
            parsed = filenames.parse_notification_file_name(name)
            if parsed.type != kind:
                issues.append(Issue(None, f"file name says {parsed.type}, content is {kind}",
                                    "file name", "warning"))
            if nome_file and filenames.invoice_stem(nome_file) != parsed.invoice_stem:
                issues.append(Issue(None, f"file name is about {parsed.invoice_stem}, NomeFile "
                                          f"is {nome_file}", "file name", "warning"))
        except filenames.InvalidFileName as exc:
            issues.append(Issue(None, f"not an SdI message file name: {exc}", "file name",
                                "warning"))
    return Identification(name or "", Kind.SDI_MESSAGE, kind.value, True, fields,
                          tuple(issues), tuple(signatures))


def _daticert(d: daticert_mod.Daticert, name: str | None) -> Identification:
    return Identification(name or "", Kind.DATICERT, d.tipo.value, True,
                          _jobj(dataclasses.asdict(d)))


def _xml(data: bytes, name: str | None, ctx: _Ctx) -> Identification:
    try:
        return _sdi(data, sdi.parse_sdi_message(data), name, ctx)
    except sdi.UnknownSdiMessage:
        pass
    except sdi.MalformedSdiMessage as exc:
        if isinstance(exc.__cause__, xmlsafe.MalformedXml | xmlsafe.UnsafeXml):
            return Identification(name or "", Kind.UNKNOWN, "malformed-xml", False, {},
                                  (Issue("00200", str(exc.__cause__)),))
        return Identification(name or "", Kind.SDI_MESSAGE, "malformed", False, {},
                              (Issue(None, str(exc)),))
    try:
        return _daticert(daticert_mod.parse_daticert(data), name)
    except daticert_mod.MalformedDaticert as exc:
        return Identification(name or "", Kind.UNKNOWN, "xml", False, {"detail": str(exc)})


# --- PEC ----------------------------------------------------------------------------------


def _inner_fields(inner: pec.InnerMessage) -> dict[str, Any]:
    return _jobj({"message_id": inner.message_id, "subject": inner.subject,
                  "from": inner.from_address, "to": list(inner.to), "date": inner.date,
                  "attachments": [a.filename for a in inner.attachments]})


def _mt_cross_check(parts: tuple[Identification, ...], blobs: dict[str, bytes]) -> list[Issue]:
    """An SdI delivery (MT + invoice): NomeFile and Hash of the MT must match the invoice."""
    issues = []
    for part in parts:
        if part.kind is not Kind.SDI_MESSAGE or part.format != "MT":
            continue
        nome, want = part.fields.get("nome_file"), part.fields.get("hash")
        if nome not in blobs:
            issues.append(Issue(None, f"MT names {nome}, which is not attached", part.name))
        elif want and hashlib.sha256(blobs[nome]).hexdigest() != str(want).lower():
            issues.append(Issue(None, f"MT Hash does not match {nome}", part.name))
    return issues


def _pec(data: bytes, name: str | None, ctx: _Ctx) -> Identification:
    try:
        msg = pec.parse_pec(data)
    except pec.MalformedPec as exc:
        return Identification(name or "", Kind.PEC, "malformed", False, {},
                              (Issue(None, f"unreadable PEC message: {exc}"),))
    fields: dict[str, Any] = _jobj({
        "kind": msg.kind.value, "message_id": msg.message_id,
        "riferimento_message_id": msg.riferimento_message_id, "subject": msg.subject,
        "from": msg.from_address, "reply_to": msg.reply_to, "date": msg.date,
        "tipo_ricevuta": msg.tipo_ricevuta, "mittente": msg.mittente,
        "daticert": dataclasses.asdict(msg.daticert) if msg.daticert else None,
    })
    issues: list[Issue] = []
    if msg.daticert is None:
        issues.append(Issue(None, "no daticert.xml: the certification data is missing",
                            "daticert.xml"))
    if msg.kind is pec.PecKind.ANOMALIA:
        issues.append(Issue(None, "anomaly envelope: not certified mail", severity="warning"))
    parts: tuple[Identification, ...] = ()
    if msg.postacert is not None:
        fields["postacert"] = _inner_fields(msg.postacert)
        if ctx.depth < MAX_DEPTH:
            atts = msg.postacert.attachments
            parts = tuple(_identify(a.content, a.filename, ctx.deeper()) for a in atts)
            issues += _mt_cross_check(parts, {a.filename: a.content for a in atts})
    signature = Signature("smime", smime.verify(data, ctx.trust, at=ctx.at))
    return Identification(name or "", Kind.PEC, msg.kind.value, True, fields, tuple(issues),
                          (signature,), parts)


# --- dispatch -----------------------------------------------------------------------------


def _identify(data: bytes, name: str | None, ctx: _Ctx) -> Identification:
    if not data.strip():
        return Identification(name or "", Kind.UNKNOWN, "empty", False, {},
                              (Issue(None, "empty file"),))
    info = fp.sniff(data)
    if info.kind is FormatKind.CMS:
        return _invoice(data, name, ctx, cms=True)
    if info.kind is not FormatKind.NOT_INVOICE:
        return _invoice(data, name, ctx, cms=False)
    if _looks_like_xml(data):
        return _xml(data, name, ctx)
    if pec.is_pec(data):
        return _pec(data, name, ctx)
    detail = "ordinary e-mail, not PEC" if _looks_like_mail(data) else "not a format pecora knows"
    return Identification(name or "", Kind.UNKNOWN, "unknown", False, {"detail": detail})


def identify(data: bytes, name: str | None = None, *, trust: TrustStore | None = None,
             at: dt.datetime | None = None,
             official: fp.OfficialSchema | None = None) -> Identification:
    """Identify and check ``data`` (``name`` is its file name, used for the naming checks).

    Signatures are verified against ``trust`` (empty: every signature reports
    ``no_trust_anchors``) at their own signing time unless ``at`` is given; invoices also
    against the ``official`` XSD when given. Never raises on malformed input: unreadable files
    come back with ``readable=False``.
    """
    return _identify(data, name, _Ctx(trust or TrustStore(), at, official))
