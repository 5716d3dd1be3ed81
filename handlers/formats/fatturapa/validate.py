"""Validation entry points: structural (XSD-equivalent) + SdI content checks -> `Finding`s.

`validate` works on a model (e.g. before writing); `validate_bytes` on received/generated XML,
adding the reader's schema findings (order, unknown elements, lexical forms). A file SdI
would discard at the format stage (00200) is not content-checked further only if it could
not be read at all: SdI stops at the first failing stage, but reporting both helps the user.
"""

from __future__ import annotations

from .content_checks import (
    check_aliquota_percentuale,
    check_cessionario_id,
    check_date_collegate,
    check_natura_generica,
    check_natura_vs_aliquota,
    check_prezzo_totale,
    check_riepilogo,
    check_ritenuta,
)
from .doc_checks import check_numero, check_sconti, check_tipo_documento, check_trasmissione
from .errors import FatturaPAError, Finding
from .model import FatturaElettronica
from .official_xsd import OfficialSchema
from .reader import read_tree
from .structure import check_structure

#: The SdI content checks, in the order of the SdI code numbers.
CONTENT_CHECKS = (
    check_natura_vs_aliquota, check_ritenuta, check_cessionario_id, check_date_collegate,
    check_riepilogo, check_prezzo_totale, check_aliquota_percentuale, check_trasmissione,
    check_numero, check_sconti, check_natura_generica, check_tipo_documento,
)


def content_findings(invoice: FatturaElettronica) -> list[Finding]:
    """Only the SdI content checks (assumes a structurally sane model; skips what is None)."""
    out: list[Finding] = []
    for check in CONTENT_CHECKS:
        try:
            out.extend(check(invoice))
        except (AttributeError, TypeError):
            # a container the check walks is missing/ill-typed: structure already said so
            continue
    return out


def validate(invoice: FatturaElettronica) -> list[Finding]:
    """Structural findings (code 00200) followed by the SdI content findings."""
    return check_structure(invoice) + content_findings(invoice)


def validate_bytes(data: bytes, *, official: OfficialSchema | None = None) -> list[Finding]:
    """Validate XML bytes. Unreadable input (malformed, broken namespace, legacy 1.1, FSM10,
    p7m, not an invoice) gives a single 00200 finding that says what it is. With the
    ``official`` schema installed, its findings follow pecora's structural ones."""
    try:
        invoice, findings, sure = read_tree(data)
    except FatturaPAError as exc:
        kind = type(exc).__name__
        return [Finding("00200", "/", f"File non elaborabile ({kind}): {exc}", f"{kind}: {exc}")]
    # The reader already checked every leaf, count and choice on the way: when it is sure the
    # model is clean, the structural walk would return [] and is skipped. Otherwise it runs in
    # full, so the findings are exactly those of `validate`.
    structural = [] if sure else check_structure(invoice)
    if official is not None:
        structural += official.findings(data)
    return findings + structural + content_findings(invoice)
