"""Faults a sandbox PEC provider can be told to commit, as plain data (scenarios, tests).

A scenario swaps `SandboxProvider.faults` for another `ProviderFaults` at any moment; the next
submission sees it. Every duration is *simulated* seconds on the provider's `FastClock`, so the
12/24-hour delivery deadlines of the PEC rules (domain.md §4.2, ``preavviso-errore-consegna``)
pass in a blink at a high clock factor. Also the refusal texts a provider writes in
daticert ``errore-esteso``: the real wording is not in our samples (domain.md §4.2 only shows
``5.1.1 - … indirizzo non valido``), so these are sandbox texts in the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BCC_REFUSED",
    "DELIVERY_FAILED",
    "NO_DEST",
    "PROVIDER_REFUSED",
    "SENDER_REFUSED",
    "SIZE_REFUSED",
    "TIMEOUT",
    "ProviderFaults",
]

#: errore-esteso of a non-accettazione: MAIL FROM / From is not the authenticated account.
SENDER_REFUSED = "5.7.1 - Mittente non consentito: {sender} non e' l'utente autenticato {account}"
#: errore-esteso of a non-accettazione: the message is over the provider's size limit (30 MB).
SIZE_REFUSED = "5.3.4 - Messaggio troppo grande: {size} byte, limite {limit} byte"
#: errore-esteso of a non-accettazione: an envelope recipient is not in To/Cc (no Bcc in PEC).
BCC_REFUSED = "5.7.1 - Destinatario non presente nelle intestazioni To/Cc: {address}"
#: errore-esteso of a non-accettazione forced by `ProviderFaults.refuse_all`.
PROVIDER_REFUSED = "5.3.0 - Messaggio non accettato dal gestore (sandbox)"
#: errore-esteso of an errore-consegna for an address nobody serves.
NO_DEST = "5.1.1 - {gestore}: indirizzo non valido"
#: errore-esteso of an errore-consegna when the mailbox or endpoint failed to take the message.
DELIVERY_FAILED = "5.2.0 - {gestore}: errore nella consegna ({error})"
#: errore-esteso of the preavviso (12 h) and of the final errore-consegna (24 h).
TIMEOUT = "5.4.7 - Superamento tempo massimo di consegna"


@dataclass(frozen=True, slots=True)
class ProviderFaults:
    """What the provider does wrong (the default does nothing wrong).

    * ``refuse_all``: every submission gets a non-accettazione, nothing is carried.
    * ``tempfail_submissions``: SMTP submissions are answered ``451`` (the client must retry);
      in-process `send` raises `SubmissionRejected`.
    * ``delay_accettazione_seconds``: the accettazione / non-accettazione arrives this late.
    * ``delay_receipts_seconds``: delivery receipts (avvenuta-consegna, errore-consegna,
      preavviso) arrive this late.
    * ``duplicate_receipts``: every receipt is delivered twice, byte-identical (a redelivery
      after a lost acknowledgement: consumers must dedupe by Message-ID, domain.md §4.2).
    * ``drop_delivery_to``: addresses whose delivery is silently lost: the sender's provider
      then sends a preavviso-errore-consegna after ``preavviso_after_seconds`` (12 h) and the
      final errore-consegna "per superamento tempo massimo" after ``timeout_after_seconds``
      (24 h), as the DM 2/11/2005 rules require.
    * ``preavviso_unknown``: an unknown address gets a preavviso before its errore-consegna.
    """

    refuse_all: bool = False
    tempfail_submissions: bool = False
    delay_accettazione_seconds: float = 0.0
    delay_receipts_seconds: float = 0.0
    duplicate_receipts: bool = False
    drop_delivery_to: frozenset[str] = frozenset()
    preavviso_unknown: bool = False
    preavviso_after_seconds: float = 12 * 3600.0
    timeout_after_seconds: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if min(self.delay_accettazione_seconds, self.delay_receipts_seconds) < 0:
            raise ValueError("receipt delays must not be negative")
        if not 0 <= self.preavviso_after_seconds <= self.timeout_after_seconds:
            raise ValueError("need 0 <= preavviso_after_seconds <= timeout_after_seconds")
        # Addresses compare case-insensitively everywhere in the provider.
        object.__setattr__(self, "drop_delivery_to",
                           frozenset(a.lower() for a in self.drop_delivery_to))

    def dropped(self, address: str) -> bool:
        """Whether delivery to ``address`` is to be lost."""
        return address.lower() in self.drop_delivery_to
