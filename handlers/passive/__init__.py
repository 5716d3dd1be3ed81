"""Passive invoicing (fatturazione passiva): supplier invoices that SdI delivers to us.

`PIPELINES` maps this area's routes to their steps; `handlers/routes.py` merges it. The intake
steps are in `intake`; the EC and supplier-reply builders the decision use-cases call are in
`ec_mail`; the configuration facts (trust anchors, PA policy) in `facts`.
"""

from __future__ import annotations

from handlers.passive import intake  # noqa: F401  (registers the steps)

PIPELINES: dict[str, tuple[str, ...]] = {
    # An invoice file + its MT (domain.md §4.1): checked, parsed, split, stored, archived.
    "sdi-invoice": ("check-invoice-delivery", "record-invoice-delivery"),
}
