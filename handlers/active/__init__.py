"""Active invoicing (fatturazione attiva): what SdI tells us about the invoices we sent.

`PIPELINES` maps this area's routes to their steps; `handlers/routes.py` merges it.
"""

from __future__ import annotations

from handlers import sdi_notifications  # noqa: F401  (registers the steps)

PIPELINES: dict[str, tuple[str, ...]] = {
    # RC NS MC NE DT AT SE about a file; an applier of either cycle records it, or it is held.
    "sdi-notification": ("read-sdi-notification", "record-sdi-notification"),
}
