"""Configuration facts the passive intake reads from the `Work` (injected by the inbox runner).

Handlers stay pure: trust anchors and the PA policy come in as facts built once from the
configuration (`daemon/config_passive.py` `passive_facts`), never read from disk here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.formats.trust import TrustStore


@dataclass(frozen=True, slots=True)
class IntakeTrust:
    """The anchors supplier signatures (CAdES p7m) are checked against (AgID TSL CAs)."""

    store: TrustStore = field(default_factory=TrustStore)


@dataclass(frozen=True, slots=True)
class PassivePolicy:
    """Which received files are answered with an EC (domain.md §3.3: PA recipients only).

    ``ec_offices`` lists our receiving office codes (Codice Univoco Ufficio, IPA) that are
    a public administration; None means every FPA12 file is (SdI delivers FPA12 only to PA
    offices). B2B (FPR12) files never get an EC: SdI has no refusal in B2B.
    """

    ec_offices: frozenset[str] | None = None

    def ec_required(self, formato: str | None, codice_destinatario: str | None) -> bool:
        """Tell whether a file in ``formato`` to ``codice_destinatario`` is answered by EC."""
        if (formato or "").upper() != "FPA12":
            return False
        if self.ec_offices is None:
            return True
        return (codice_destinatario or "").upper() in self.ec_offices


#: Used when the runner injects no policy: every FPA12 is a PA invoice.
DEFAULT_POLICY = PassivePolicy()
