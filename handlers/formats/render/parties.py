"""Header blocks: transmission data, seller (cedente/prestatore), buyer (cessionario)."""

from __future__ import annotations

from handlers.formats.fatturapa import (
    Anagrafica,
    CedentePrestatore,
    CessionarioCommittente,
    FatturaElettronica,
    IdFiscale,
    Indirizzo,
)

from . import fmt, labels
from .blocks import Block, Fields, kv


def party_name(a: Anagrafica | None) -> str:
    """Denominazione, else ``Titolo Nome Cognome``."""
    if a is None:
        return fmt.EMPTY
    if a.denominazione:
        return a.denominazione
    return " ".join(p for p in (a.titolo, a.nome, a.cognome) if p) or fmt.EMPTY


def _id(i: IdFiscale | None) -> str | None:
    return None if i is None else f"{i.id_paese or ''}{i.id_codice or ''}" or None


def _address(s: Indirizzo | None) -> str | None:
    if s is None:
        return None
    street = " ".join(p for p in (s.indirizzo, s.numero_civico) if p)
    prov = f" ({s.provincia})" if s.provincia else ""
    town = " ".join(p for p in (s.cap, s.comune) if p) + prov
    return ", ".join(p for p in (street, town, s.nazione) if p) or None


def seller(c: CedentePrestatore) -> Block:
    d = c.dati_anagrafici
    rea = c.iscrizione_rea
    contatti = c.contatti
    return Fields("Cedente / prestatore", kv(
        ("Denominazione", party_name(d.anagrafica)),
        ("Partita IVA", _id(d.id_fiscale_iva)),
        ("Codice fiscale", d.codice_fiscale),
        ("Regime fiscale", labels.describe(labels.REGIME_FISCALE, d.regime_fiscale)),
        ("Sede", _address(c.sede)),
        ("Stabile organizzazione", _address(c.stabile_organizzazione)),
        ("Albo professionale", " ".join(
            p for p in (d.albo_professionale, d.provincia_albo, d.numero_iscrizione_albo) if p)),
        ("REA", f"{rea.ufficio} {rea.numero_rea}" if rea else None),
        ("Telefono", contatti.telefono if contatti else None),
        ("Email", contatti.email if contatti else None),
        ("Riferimento amministrazione", c.riferimento_amministrazione),
    ))


def buyer(c: CessionarioCommittente) -> Block:
    d = c.dati_anagrafici
    rf = c.rappresentante_fiscale
    return Fields("Cessionario / committente", kv(
        ("Denominazione", party_name(d.anagrafica)),
        ("Partita IVA", _id(d.id_fiscale_iva)),
        ("Codice fiscale", d.codice_fiscale),
        ("Sede", _address(c.sede)),
        ("Stabile organizzazione", _address(c.stabile_organizzazione)),
        ("Rappresentante fiscale", None if rf is None else " ".join(
            p for p in (rf.denominazione, rf.nome, rf.cognome, _id(rf.id_fiscale_iva)) if p)),
    ))


def transmission(inv: FatturaElettronica) -> Block:
    t = inv.header.dati_trasmissione
    formato = {"FPA12": "FPA12 - verso Pubblica Amministrazione",
               "FPR12": "FPR12 - verso privati"}.get(t.formato_trasmissione,
                                                      t.formato_trasmissione)
    h = inv.header
    terzo = h.terzo_intermediario_o_soggetto_emittente
    rapp = h.rappresentante_fiscale
    return Fields("Dati di trasmissione", kv(
        ("Formato", formato),
        ("Trasmittente", _id(t.id_trasmittente)),
        ("Progressivo invio", t.progressivo_invio),
        ("Codice destinatario", t.codice_destinatario),
        ("PEC destinatario", t.pec_destinatario),
        ("Rappresentante fiscale del cedente", None if rapp is None else
         f"{party_name(rapp.dati_anagrafici.anagrafica)} "
         f"({_id(rapp.dati_anagrafici.id_fiscale_iva)})"),
        ("Terzo intermediario", None if terzo is None else
         party_name(terzo.dati_anagrafici.anagrafica)),
        ("Soggetto emittente", {"CC": "CC - cessionario/committente",
                                "TZ": "TZ - terzo"}.get(h.soggetto_emittente or "",
                                                        h.soggetto_emittente)),
    ))


