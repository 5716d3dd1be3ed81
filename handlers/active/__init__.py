"""Active invoicing (fatturazione attiva): what SdI tells us about the invoices we sent.

`PIPELINES` maps this area's routes to their steps; `handlers/routes.py` merges it.
"""

from __future__ import annotations

PIPELINES: dict[str, tuple[str, ...]] = {
    # RC NS MC NE DT AT SE about a file: until the active cycle lands, held for an operator.
    "sdi-notification": ("hold-for-operator",),
}
