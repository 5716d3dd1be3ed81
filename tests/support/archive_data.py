"""Sample archival units for the conservazione tests and the benchmark."""

from __future__ import annotations

import datetime as dt

from daemon.archive.units import NewUnit
from handlers.archive.model import (
    DocumentKind,
    Flow,
    ItemInput,
    LinkInput,
    Party,
    PartyRole,
    UnitMetadata,
)
from handlers.archive.sincro import Agents

AGENTS = Agents(responsible="Maria Conservatrice", producer="ACME S.p.A.")
NOW = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)


def sample_unit(
    n: int,
    *,
    date: dt.date = dt.date(2025, 1, 15),
    buyer: str = "Mario Rossi S.r.l.",
    buyer_vat: str = "IT01234567890",
    buyer_cf: str | None = None,
    kind: DocumentKind = DocumentKind.INVOICE_OUT,
    links: tuple[LinkInput, ...] = (),
    evidence: bool = True,
) -> NewUnit:
    """Invoice ``n`` sent by ACME to ``buyer``, with its RC and PEC delivery receipt."""
    name = f"IT09876543210_{n:05d}.xml"
    xml = f"<FatturaElettronica><Numero>{n}</Numero><Buyer>{buyer}</Buyer></FatturaElettronica>"
    items = [ItemInput(name, xml.encode(), kind, "application/xml")]
    if evidence:
        items += [
            ItemInput(f"IT09876543210_{n:05d}_RC_001.xml", f"<RC>{n}</RC>".encode(),
                      DocumentKind.SDI_MESSAGE, "application/xml", "RC"),
            ItemInput(f"consegna-{n}.eml", f"Subject: CONSEGNA {n}\r\n\r\nok\r\n".encode(),
                      DocumentKind.PEC_RECEIPT, "message/rfc822", "avvenuta-consegna"),
        ]
    meta = UnitMetadata(
        identifier=f"out/{name}",
        kind=kind,
        flow=Flow.OUT if kind.value.endswith("out") else Flow.IN,
        document_type="TD04" if "credit" in kind.value else "TD01",
        number=str(n),
        date=date,
        parties=(
            Party(PartyRole.SELLER, denomination="ACME S.p.A.", partita_iva="IT09876543210",
                  codice_fiscale="09876543210"),
            Party(PartyRole.BUYER, denomination=buyer, partita_iva=buyer_vat,
                  codice_fiscale=buyer_cf),
        ),
        sdi_id=str(1000000 + n),
        links=links,
    )
    return NewUnit(meta, tuple(items))
