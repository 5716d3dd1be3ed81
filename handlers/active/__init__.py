"""Active invoicing (fatturazione attiva): what SdI tells us about the invoices we sent.

`PIPELINES` maps this area's routes to their steps; `handlers/routes.py` merges it. The pure
parts of the cycle live beside: `draft` (descriptions), `parties`, `build` (FatturaPA model),
`states` (the §3.4 state machine), `correlate` (notification keys), `alerts` (timers),
`suggestions` (SdI error codes), `mail` (the PEC message to SdI), `verify` (SdI's signature),
`attestazione` (the AT zip).
"""

from __future__ import annotations

from handlers import sdi_notifications  # noqa: F401  (registers the steps)
from handlers.active import attestazione, verify  # noqa: F401  (register their steps)

PIPELINES: dict[str, tuple[str, ...]] = {
    # RC NS MC NE DT AT SE about a file; an applier of either cycle records it, or it is held.
    "sdi-notification": (
        "open-attestazione-zip",  # AT comes zipped with the invoice (domain.md §2)
        "read-sdi-notification",
        "verify-sdi-signature",
        "record-sdi-notification",
    ),
}
