"""Invoice model → a presentation model (titled blocks of display strings) for the renderers.

Everything people read on a rendered invoice is decided here once, in Italian, with Italian
number/date formatting (`fmt`) and code descriptions (`labels`); `html` and `pdf` only lay the
blocks out, so the two outputs always carry the same content. A lot (several bodies) gives
one `DocumentView` per body.

The input may be a hostile or broken received file: the reader leaves missing mandatory
elements as ``None``, so each block is built under a guard and a block that cannot be built
becomes a note saying so, instead of the whole rendering failing.
"""

from __future__ import annotations

from handlers.formats.fatturapa import FatturaElettronica

from .blocks import MISSING, Block, DocumentView, Fields, InvoiceView, Notes, Table, blocks, guard
from .body import document, document_total
from .parties import buyer, party_name, seller, transmission

__all__ = [
    "Block", "DocumentView", "Fields", "InvoiceView", "Notes", "Table", "build_view",
    "document_total", "party_name",
]


def build_view(invoice: FatturaElettronica) -> InvoiceView:
    """The presentation model of ``invoice`` (never raises on a broken model)."""
    bodies = tuple(invoice.bodies or ())
    docs = tuple(document(b, i, len(bodies) > 1) for i, b in enumerate(bodies, 1))
    missing = Notes("Dati di trasmissione", (MISSING,))
    sent = guard("Dati di trasmissione", lambda: transmission(invoice)) or missing
    parties = blocks(
        ("Cedente / prestatore", lambda: seller(invoice.header.cedente_prestatore)),
        ("Cessionario / committente",
         lambda: buyer(invoice.header.cessionario_committente)),
    )
    title = docs[0].heading if len(docs) == 1 else f"Lotto di {len(docs)} documenti"
    return InvoiceView(title, sent, parties, docs)
