"""FatturaPA 1.2.3 invoice codec (FPA12/FPR12): typed model, reader, writer, validation.

Pure code, bytes in and typed values out: no I/O, no asyncio, no SQL. XML is parsed only
through `handlers.formats.xmlsafe`. Amounts are `Decimal`.

Public API:
* `parse` / `parse_report` — XML bytes -> `FatturaElettronica` (+ schema findings);
* `write` — model -> UTF-8 XML bytes;
* `sniff` -> `FormatInfo` — FPA12 / FPR12 / FSM10 / legacy-1.1 / p7m / broken / not-an-invoice;
* `validate` / `validate_bytes` -> list of `Finding` (00200 structural + SdI content checks);
* `OfficialSchema` — the published XSD, when installed, as a second structural opinion;
* `compute_riepilogo` — DatiRiepilogo from the lines (half-up);
* `extract_attachments` — decoded Allegati with safe names.
"""

from . import codes
from .attachments import ExtractedAttachment, extract_attachments
from .errors import (
    BrokenNamespace,
    FatturaPAError,
    Finding,
    InvalidXml,
    NotAnInvoice,
    UnsupportedFormat,
)
from .model import *  # noqa: F403  (the model classes are the API)
from .model import __all__ as _model_all
from .official_xsd import OfficialSchema, SchemaError
from .reader import ParseResult, parse, parse_report
from .sniff import FormatInfo, FormatKind, sniff
from .structure import check_structure
from .totals import (
    apply_sconti,
    compute_riepilogo,
    expected_prezzo_totale,
    importo_totale_documento,
    round_cents,
)
from .validate import content_findings, validate, validate_bytes
from .writer import to_element, write

__all__ = [
    *_model_all,
    "BrokenNamespace", "ExtractedAttachment", "FatturaPAError", "Finding", "FormatInfo",
    "FormatKind", "InvalidXml", "NotAnInvoice", "OfficialSchema", "ParseResult", "SchemaError",
    "UnsupportedFormat",
    "apply_sconti", "check_structure", "codes", "compute_riepilogo", "content_findings",
    "expected_prezzo_totale", "extract_attachments", "importo_totale_documento", "parse",
    "parse_report", "round_cents", "sniff", "to_element", "validate", "validate_bytes", "write",
]
