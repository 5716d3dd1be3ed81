"""Passive invoicing end to end over real sockets: the sandbox world delivers supplier invoices
to the daemon's LMTP port; decisions go out through the daemon's ``pec`` channel to the
sandbox SdI, whose answers (NE to the supplier, SE/DT to us) travel back the same way."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.formats.sdi_types import Esito, NotificaEsito
from store import passive
from store.clock import utcnow
from store.models import InboxState, OutboxItem, OutboxState
from store.models_passive import (
    EsitoState,
    PassiveEsito,
    ReceivedDelivery,
    ReviewState,
)
from tests.daemon.passive.harness import POLICY, passive_world
from tests.handlers.formats.fatturapa import factory
from tests.support.daemon import wait_for

PA_OFFICE = "UFX001"  # not a scenario code: SdI just delivers and waits for our EC


async def test_b2b_invoice_in_and_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        await w.world.supplier.deliver(factory.invoice(codice="0000000"))
        [item] = await w.settled(1)
        assert (item.route, item.state) == ("sdi-invoice", InboxState.DONE)
        [inv] = await w.invoices()
        [file] = await w.files()
        assert not file.ec_required and file.deadline is None
        assert inv.state is ReviewState.TO_REVIEW and inv.numero == "1"
        async with w.sessions() as s, s.begin():
            result = await passive.accept(s, inv.id, actor="anna", now=utcnow(), policy=POLICY)
        assert result.ec_outbox_id is None and "B2B" in result.message
        async with w.sessions() as s:
            shown = await passive.detail(s, inv.id)
            outbox = list((await s.execute(select(OutboxItem))).scalars())
        assert shown is not None and shown.invoice.state is ReviewState.ACCEPTED
        assert [(d.actor, d.decision) for d in shown.decisions] == [("anna", ReviewState.ACCEPTED)]
        assert outbox == []


async def test_pa_invoice_refused_ec02_reaches_sdi_and_ne_goes_to_the_supplier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        sent = await w.world.supplier.deliver(factory.invoice(formato="FPA12", codice=PA_OFFICE))
        await w.settled(1)
        [inv] = await w.invoices()
        [file] = await w.files()
        assert file.ec_required and file.identificativo_sdi == sent.identificativo_sdi
        assert file.deadline is not None
        assert file.deadline - file.delivered_at == __import__("datetime").timedelta(days=15)
        assert file.sdi_address == w.world.supplier.sdi_address
        async with w.sessions() as s, s.begin():
            with pytest.raises(passive.NotAuthorised):
                await passive.refuse(s, inv.id, actor="mallory", reason="x", now=utcnow(),
                                     policy=POLICY)
            with pytest.raises(passive.BadReason):
                await passive.refuse(s, inv.id, actor="anna", reason=" ", now=utcnow(),
                                     policy=POLICY)
            result = await passive.refuse(s, inv.id, actor="anna", reason="CIG mancante",
                                          now=utcnow(), policy=POLICY)
        assert result.ec_file_name is not None and "_EC_" in result.ec_file_name
        [ne] = await w.supplier_notices(1)
        assert isinstance(ne, NotificaEsito)
        assert ne.esito_committente.esito is Esito.EC02
        assert ne.esito_committente.descrizione == "CIG mancante"
        record = w.world.sdi.record(sent.identificativo_sdi)
        assert record is not None and record.state.value == "refused"
        async def ec_sent() -> bool:
            # The provider answers the SMTP submission after delivering it, so SdI's NE
            # can overtake our outbox's own record of the send.
            async with w.sessions() as s:
                item = await s.get(OutboxItem, result.ec_outbox_id)
                return item is not None and item.state is OutboxState.SENT

        await wait_for(ec_sent, timeout=20)
        async with w.sessions() as s:
            with pytest.raises(passive.AlreadyDecided):
                await passive.accept(s, inv.id, actor="anna", now=utcnow(), policy=POLICY)


async def test_ec_after_the_deadline_gets_se_en01_then_dt_stops_any_ec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 15 simulated days pass in ~6 s; SdI's DT to us is held back so our late EC can go.
    async with passive_world(tmp_path, monkeypatch, clock_factor=216_000,
                             hold=lambda raw: b"_DT_" in raw) as w:
        sent = await w.world.supplier.deliver(factory.invoice(formato="FPA12", codice=PA_OFFICE))
        await w.settled(1)
        [inv] = await w.invoices()
        record = w.world.sdi.record(sent.identificativo_sdi)
        assert record is not None and record.terms_until is not None

        async def dt_held() -> bool:
            return bool(w.mailbox.held)

        await wait_for(dt_held, timeout=20)  # SdI closed the window (DT sent, held)
        async with w.sessions() as s, s.begin():
            late = await passive.accept(s, inv.id, actor="anna", now=utcnow(), policy=POLICY)
        assert late.ec_outbox_id is not None

        async def rejected() -> PassiveEsito | None:
            async with w.sessions() as s:
                e = (await s.execute(select(PassiveEsito))).scalar()
            return e if e is not None and e.state is EsitoState.REJECTED else None

        esito = await wait_for(rejected, timeout=20)
        assert esito.scarto == "EN01" and "termini" in (esito.scarto_note or "")
        await w.mailbox.release()  # now the DT arrives

        async def dt_recorded() -> bool:
            [f] = await w.files()
            return f.dt_at is not None

        await wait_for(dt_recorded, timeout=20)
        async with w.sessions() as s, s.begin():  # SE reopened the decision, DT closed SdI
            again = await passive.refuse(s, inv.id, actor="anna", reason="ritardo",
                                         now=utcnow(), policy=POLICY)
        assert again.ec_outbox_id is None and "DT" in again.message
        async with w.sessions() as s:
            shown = await passive.detail(s, inv.id)
        assert shown is not None
        assert sorted(m.type for m in shown.messages) == ["DT", "SE"]
        assert all(i.state is InboxState.DONE for i in await w.items())


async def test_lot_of_three_is_three_invoices_of_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        lot = factory.invoice(*(factory.body(numero=str(n)) for n in (1, 2, 3)))
        await w.world.supplier.deliver(lot, signed=True)
        await w.settled(1)
        invoices = await w.invoices()
        [file] = await w.files()
        assert [(i.numero, i.position, i.file_id) for i in invoices] == [
            ("1", 1, file.id), ("2", 2, file.id), ("3", 3, file.id)]
        assert file.hash_check == "ok"  # B2B MT Hash = SHA-256 of the p7m as received
        assert file.signature == "untrusted"  # intact; the supplier CA is not an anchor here


async def test_base64_p7m_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        await w.deliver(factory.invoice(factory.body(numero="B64")), signed=True,
                        transform=base64.encodebytes)
        [item] = await w.settled(1)
        assert item.state is InboxState.DONE
        [inv] = await w.invoices()
        [file] = await w.files()
        assert inv.numero == "B64" and file.signature == "untrusted" and file.hash_check == "ok"


async def test_tampered_p7m_is_stored_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    def tamper(p7m: bytes) -> bytes:
        assert p7m.count(b"<Numero>T1</Numero>") == 1
        return p7m.replace(b"<Numero>T1</Numero>", b"<Numero>T9</Numero>")

    async with passive_world(tmp_path, monkeypatch) as w:
        await w.deliver(factory.invoice(factory.body(numero="T1")), signed=True, transform=tamper)
        await w.settled(1)
        [inv] = await w.invoices()
        [file] = await w.files()
        assert inv.numero == "T9"
        assert file.signature == "tampered" and "digest" in (file.signature_detail or "")
        assert any("signature broken" in n for n in file.notes)


async def test_same_invoice_delivered_twice_is_recorded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with passive_world(tmp_path, monkeypatch) as w:
        invoice = factory.invoice(factory.body(numero="D1"))
        await w.deliver(invoice, times=2)  # SdI sends the same file twice
        await w.deliver(invoice, signed=True)  # the same invoice, other bytes and file name
        items = await w.settled(3)
        assert [i.state for i in items] == [InboxState.DONE] * 3
        assert len(await w.invoices()) == 1
        [file] = await w.files()
        async with w.sessions() as s:
            logged = list((await s.execute(
                select(ReceivedDelivery).order_by(ReceivedDelivery.id))).scalars())
        assert [d.file_id for d in logged] == [file.id] * 3
        assert logged[0].duplicate is None
        assert "same IdentificativoSdI" in (logged[1].duplicate or "")
        assert "already received" in (logged[2].duplicate or "")  # seller+year+number+type
        assert "D1" in (logged[2].duplicate or "")
        assert len({d.envelope_sha256 for d in logged}) == 3


async def test_anomaly_envelope_is_quarantined_and_nothing_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.message import EmailMessage

    from handlers.formats.fatturapa import write

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "spam@example.test", "x", "Fattura"
    mail.add_attachment(write(factory.invoice()), maintype="application", subtype="xml",
                        filename="IT01234567890_AAAAA.xml")
    async with passive_world(tmp_path, monkeypatch) as w:
        await w.world.provider.inject_external("fatture@pec.sandbox.test", mail.as_bytes())
        await w.world.supplier.deliver(factory.invoice(codice="0000000"))  # the box goes on
        items = await w.settled(2)
        assert [(i.route, i.state) for i in items] == [
            ("pec-anomaly", InboxState.QUARANTINED), ("sdi-invoice", InboxState.DONE)]
        assert "anomaly" in (items[0].reason or "")
        assert len(await w.invoices()) == 1
