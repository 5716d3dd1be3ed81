"""Parties of an invoice as plain values, and the rules that say how SdI reaches a customer.

A PA is reached by its 6-char codice Ufficio (IPA) and gets FPA12, which must be signed; a
private business by its 7-char codice destinatario, or ``0000000`` plus a PEC address; a
consumer by ``0000000`` alone (the invoice waits in their reserved area, domain.md §3.3); a
foreign customer by ``XXXXXXX``. `problems` says what is missing before anything is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PA, B2B, B2C, FOREIGN = "pa", "b2b", "b2c", "foreign"
KINDS = (PA, B2B, B2C, FOREIGN)
NO_CODE = "0000000"
FOREIGN_CODE = "XXXXXXX"
_PA_CODE = re.compile(r"[A-Z0-9]{6}")
_B2B_CODE = re.compile(r"[A-Z0-9]{7}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class PartyData:
    """A seller profile or a customer, as the address book holds it."""

    key: str
    kind: str
    indirizzo: str
    cap: str
    comune: str
    nazione: str = "IT"
    denominazione: str | None = None
    nome: str | None = None
    cognome: str | None = None
    id_paese: str | None = None
    id_codice: str | None = None
    codice_fiscale: str | None = None
    numero_civico: str | None = None
    provincia: str | None = None
    codice_destinatario: str | None = None
    pec_destinatario: str | None = None
    regime_fiscale: str | None = None
    email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Denominazione, or Nome Cognome."""
        return self.denominazione or " ".join(p for p in (self.nome, self.cognome) if p)

    def recipient_code(self) -> str:
        """The CodiceDestinatario an invoice to this customer carries."""
        if self.kind == FOREIGN:
            return FOREIGN_CODE
        if self.kind == B2C:
            return NO_CODE
        return self.codice_destinatario or NO_CODE


def kind_for(code: str | None, nazione: str = "IT") -> str:
    """Guess the kind from a code (what an import or `party add` without ``kind`` means)."""
    if nazione != "IT" or code == FOREIGN_CODE:
        return FOREIGN
    if code and _PA_CODE.fullmatch(code):
        return PA
    if code and code != NO_CODE:
        return B2B
    return B2C


def problems(party: PartyData, *, seller: bool = False) -> list[str]:
    """What is wrong with ``party`` for invoicing (empty when fine)."""
    out = []
    if not party.denominazione and not (party.nome and party.cognome):
        out.append("denominazione, or nome and cognome, is required")
    if seller:
        if not (party.id_paese and party.id_codice):
            out.append("a seller needs its partita IVA (id_paese + id_codice)")
        if not party.regime_fiscale:
            out.append("a seller needs regime_fiscale (e.g. RF01)")
        return out
    if party.kind not in KINDS:
        out.append(f"kind must be one of {', '.join(KINDS)}")
    code = party.codice_destinatario
    if party.kind == PA and not (code and _PA_CODE.fullmatch(code)):
        out.append("a PA needs its 6-char codice Ufficio (IPA)")
    if party.kind == B2B:
        if not code or not _B2B_CODE.fullmatch(code):
            out.append("a business needs a 7-char codice destinatario (0000000 with a PEC)")
        if code == NO_CODE and not party.pec_destinatario:
            out.append("codice 0000000 for a business needs pec_destinatario")
    if party.pec_destinatario and not _EMAIL.fullmatch(party.pec_destinatario):
        out.append("pec_destinatario is not an address")
    if party.kind != FOREIGN and party.nazione == "IT" and not (
        party.id_codice or party.codice_fiscale
    ):
        out.append("an Italian customer needs a partita IVA or a codice fiscale (00417)")
    if party.kind == FOREIGN and not party.id_codice:
        out.append("a foreign customer needs its VAT id (id_paese + id_codice)")
    return out
