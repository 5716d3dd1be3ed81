"""Active invoicing end to end: pecora builds, signs and sends invoices over its PEC channel to
the sandbox (real sockets); receipts and SdI's answers come back over LMTP and move each
invoice to the state of its outcome (domain.md §3.4). One case per outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.config_invoicing import InvoicingSettings
from daemon.sandbox.provider_faults import ProviderFaults
from store import invoices
from store.archive import FilesystemArchive
from store.db import create_engine, session_factory
from store.models_active import InvoiceState, SdiAddress
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.invoicing import capture_sandbox, create_and_send, customer, seed_parties
from tests.support.net import free_port

CFG = InvoicingSettings()
S = InvoiceState

# code (or code + PEC) -> the states the invoice passes (in order of arrival not guaranteed)
# and its final state. Days run at 1 day per simulated second * factor.
CASES = {
    "rc-b2b": ("ABC1234", None, S.DELIVERED, ["RC"]),
    "ns-errors": ("SCARTO1", None, S.SDI_REJECTED, ["NS"]),
    "mc-b2b": ("0000000", None, S.NOT_DELIVERED_AVAILABLE, ["MC"]),
    "mc-pa-then-rc": ("UFF005", None, S.ACCEPTED, ["MC", "RC", "NE-EC01"]),
    "mc-pa-then-at": ("UFF004", None, S.ATTESTED, ["MC", "AT"]),
    "ne-ec01": ("UFF001", None, S.ACCEPTED, ["RC", "NE-EC01"]),
    "ne-ec02": ("UFF002", None, S.REFUSED, ["RC", "NE-EC02"]),
    "dt": ("UFF003", None, S.TERMS_EXPIRED, ["RC", "DT"]),
    "mc-after-rc": ("DISORDI", None, S.DELIVERED, ["RC", "MC"]),
    "duplicates": ("DOPPIO1", None, S.DELIVERED, ["RC"]),
}


async def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, pec: str | None,
               *, faults: ProviderFaults | None = None, final: set[S], timeout: float = 40,
               kinds: tuple[str, ...] = (),
               factor: float = 86400.0) -> tuple[int, list[str], list[str | None]]:
    settings = daemon_settings(
        tmp_path, sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": factor})
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)
    try:
        with capture_sandbox(monkeypatch) as built:
            async with running(settings):
                if faults is not None:
                    built[0].world.provider.faults = faults
                async with sessions() as s, s.begin():
                    await seed_parties(s)
                    key = await customer(s, code, pec=pec)
                invoice = await create_and_send(sessions, archive, CFG, key)

                async def settled() -> bool:
                    async with sessions() as s:
                        found = await invoices.get(s, invoice.id)
                        seen = {e.kind for e in await invoices.history(s, invoice.id)}
                        return found is not None and found.state in final and seen >= set(kinds)

                await wait_for(settled, timeout=timeout)
        async with sessions() as s:
            history = await invoices.history(s, invoice.id)
            found = await invoices.get(s, invoice.id)
            assert found is not None
    finally:
        await engine.dispose()
    kinds = [e.kind for e in history if e.source == "sdi" and e.kind != "sdi-address"]
    archived = [e.archive_sha256 for e in history
                if e.source in ("sdi", "pec") and e.kind != "sdi-address"]
    return invoice.id, kinds, archived


@pytest.mark.parametrize("case", sorted(CASES))
async def test_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    code, pec, final, kinds = CASES[case]
    _, seen, archived = await _run(tmp_path, monkeypatch, code, pec, final={final},
                                   kinds=tuple(kinds))
    assert seen == kinds, "each SdI message recorded once, in the order it arrived"
    assert all(archived), "every receipt and notification is archived with the invoice"


async def test_pec_non_accettazione(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await _run(tmp_path, monkeypatch, "ABC1234", None, faults=ProviderFaults(refuse_all=True),
               final={S.PEC_REFUSED}, kinds=("non-accettazione",))


async def test_pec_errore_consegna(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SdI's mailbox never takes the message: preavviso at "12 h", errore-consegna at "24 h".
    faults = ProviderFaults(drop_delivery_to=frozenset({"sdi01@pec.fatturapa.it"}),
                            preavviso_after_seconds=3600, timeout_after_seconds=7200)
    await _run(tmp_path, monkeypatch, "ABC1234", None, faults=faults,
               final={S.PEC_DELIVERY_FAILED},
               kinds=("accettazione", "preavviso-errore-consegna", "errore-consegna"))


async def test_changed_sdi_address_is_learned_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = daemon_settings(
        tmp_path, sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": 3600})
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)

    async def state_of(invoice_id: int) -> S | None:
        async with sessions() as s:
            found = await invoices.get(s, invoice_id)
            return found.state if found else None

    try:
        with capture_sandbox(monkeypatch) as built:
            async with running(settings):
                async with sessions() as s, s.begin():
                    await seed_parties(s)
                    moving = await customer(s, "CAMBIO1")
                    plain = await customer(s, "ABC1234")
                first = await create_and_send(sessions, archive, CFG, moving)
                await wait_for(lambda: _is(state_of(first.id), S.DELIVERED), timeout=30)
                second = await create_and_send(sessions, archive, CFG, plain)
                await wait_for(lambda: _is(state_of(second.id), S.DELIVERED), timeout=30)
                misdirected = list(built[0].world.sdi.misdirected)
        async with sessions() as s:
            learned = list((await s.execute(select(SdiAddress))).scalars())
            txs = await invoices.transmissions(s, second.id)
    finally:
        await engine.dispose()
    assert [(a.sender, a.address) for a in learned] == [
        ("fatture@pec.sandbox.test", "sdi42@pec.fatturapa.it")]
    assert txs[0].sdi_address == "sdi42@pec.fatturapa.it"  # not sdi01, not the old sdi17
    assert misdirected == []  # SdI got each file at the address it asked for


async def _is(value: object, expected: S) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_resend_after_ns_uses_a_new_file_name_same_number_and_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon import invoicing
    from store.clock import utcnow

    settings = daemon_settings(
        tmp_path, sandbox={"enabled": True, "smtp_port": free_port(), "clock_factor": 3600})
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    archive = FilesystemArchive(settings.archive_dir)

    async def rejections(invoice_id: int) -> int:
        async with sessions() as s:
            found = await invoices.get(s, invoice_id)
            events = await invoices.history(s, invoice_id)
        ns = [e for e in events if e.source == "sdi" and e.kind == "NS"]
        return len(ns) if found is not None and found.state is S.SDI_REJECTED else 0

    try:
        with capture_sandbox(monkeypatch):
            async with running(settings):
                async with sessions() as s, s.begin():
                    await seed_parties(s)
                    key = await customer(s, "SCARTO1")  # SdI answers NS 00404 every time
                first = await create_and_send(sessions, archive, CFG, key)
                await wait_for(lambda: _ge(rejections(first.id), 1), timeout=30)
                async with sessions() as s, s.begin():
                    ctx = invoicing.SendContext(
                        CFG, invoicing.load_signer(CFG, sandbox=True), archive,
                        "fatture@pec.sandbox.test")
                    await invoicing.send_invoice(s, first.id, ctx, now=utcnow())
                await wait_for(lambda: _ge(rejections(first.id), 2), timeout=30)
        async with sessions() as s:
            txs = await invoices.transmissions(s, first.id)
            again = await invoices.get(s, first.id)
    finally:
        await engine.dispose()
    assert again is not None
    assert (again.numero, again.data) == (first.numero, first.data)
    assert len(txs) == 2
    assert txs[0].file_name != txs[1].file_name  # a name SdI has seen is never reused (00002)


async def _ge(value: object, expected: int) -> bool:
    return await value >= expected  # type: ignore[misc, operator, no-any-return]
