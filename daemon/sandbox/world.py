"""The whole sandbox in one object: the user's PEC provider, SdI's provider (Sogei), the
simulated SdI, the PA offices of the scenarios, and a simulated supplier.

Used three ways: in-process by `pecora run` in sandbox mode (the embedded default), as the
standalone `pecora sandbox` process, and by end-to-end tests and `pecora demo`. Mail for the
pecora user goes to its `Mailbox` (pecora's own LMTP ingress, or a Dovecot folder); pecora
submits over SMTP to the provider's port like to any PEC provider.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from daemon.sandbox.clock import FastClock
from daemon.sandbox.elsewhere import OtherProviders
from daemon.sandbox.network import Mailbox, MemoryMailbox
from daemon.sandbox.provider import SandboxProvider
from daemon.sandbox.scenarios import DEFAULT_SCENARIOS, Scenarios
from daemon.sandbox.sdi import SandboxSdi
from daemon.sandbox.supplier import SimulatedSupplier
from handlers.formats.sandbox_pki import make_sandbox_pki

log = logging.getLogger(__name__)

USER_ADDRESS = "fatture@pec.sandbox.test"
PA_OFFICES = tuple(f"uff{n:03d}@pa.sandbox.test" for n in range(1, 6))


@dataclass(frozen=True, slots=True)
class SandboxTrust:
    """The sandbox CAs pecora must trust to verify what the sandbox signs."""

    pec_ca_pem: bytes  # the user's provider (receipts, envelopes)
    sogei_ca_pem: bytes  # SdI's provider (SdI's transport envelopes)
    sdi_ca_pem: bytes  # SdI's XAdES signatures on notifications
    supplier_ca_pem: bytes  # the simulated supplier's signatures on p7m invoices


@dataclass
class SandboxWorld:
    """See the module docstring. Build with `SandboxWorld.create`."""

    clock: FastClock
    provider: SandboxProvider
    sogei: SandboxProvider
    sdi: SandboxSdi
    supplier: SimulatedSupplier
    trust: SandboxTrust
    user_address: str
    pa_mailboxes: dict[str, MemoryMailbox] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        user_mailbox: Mailbox,
        user_password: str,
        user_address: str = USER_ADDRESS,
        clock: FastClock | None = None,
        scenarios: Scenarios = DEFAULT_SCENARIOS,
        state_dir: Path | None = None,
        elsewhere: Mailbox | None = None,
    ) -> SandboxWorld:
        """Wire the actors together; nothing listens until `serve`. With ``elsewhere``, PEC to
        addresses outside the sandbox's domains is delivered there (`OtherProviders`) instead
        of failing with errore-consegna."""
        clock = clock or FastClock()
        provider = SandboxProvider("pec.sandbox.test", "Sandbox PEC S.p.A.", clock=clock)
        sogei = SandboxProvider("pcert.sogei.sandbox.test", "Sogei SpA (sandbox)", clock=clock)
        provider.link(sogei)
        if elsewhere is not None:  # linked last: the sandbox's own providers answer first
            provider.link(OtherProviders(elsewhere, clock))
        provider.add_account(user_address, user_password, user_mailbox)
        pa_mailboxes = {address: MemoryMailbox() for address in PA_OFFICES}
        for address, box in pa_mailboxes.items():
            sogei.add_account(address, "", box)  # simulated PA offices: SdI answers for them
        sdi_ca, sdi_signer = make_sandbox_pki("Sistema di Interscambio (sandbox)")
        state = None
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            state = state_dir / "sdi-state.json"
        sdi = SandboxSdi(sogei, clock, sdi_signer, scenarios, state_path=state)
        sogei.add_endpoint(sdi)
        supplier_ca, supplier_signer = make_sandbox_pki("Fornitore di prova (sandbox)")
        supplier = SimulatedSupplier(
            sogei, clock, recipient=user_address, sdi=sdi, signer=supplier_signer
        )
        assert provider.ca_pem is not None and sogei.ca_pem is not None
        trust = SandboxTrust(provider.ca_pem, sogei.ca_pem, sdi_ca, supplier_ca)
        return cls(clock, provider, sogei, sdi, supplier, trust, user_address, pa_mailboxes)

    async def serve(
        self, host: str, smtp_port: int, stop: asyncio.Event, started: asyncio.Event | None = None
    ) -> None:
        """Serve the provider's SMTP submission port until ``stop``; then close everything."""
        await self.sdi.start()
        try:
            await self.provider.serve(host, smtp_port, stop, started)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the supplier, SdI and both providers, awaiting their pending work."""
        await self.supplier.close()
        await self.sdi.close()
        await self.provider.close()
        await self.sogei.close()
