"""Passive invoicing (fatturazione passiva): supplier invoices that SdI delivers to us.

`PIPELINES` maps this area's routes to their steps; `handlers/routes.py` merges it.
"""

from __future__ import annotations

PIPELINES: dict[str, tuple[str, ...]] = {
    # an invoice file + its MT: until the passive cycle lands, held for an operator.
    "sdi-invoice": ("hold-for-operator",),
}
