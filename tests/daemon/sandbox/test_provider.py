"""The sandbox PEC provider over real loopback sockets: what a PEC user sees of it.

Each message is submitted with aiosmtplib to the served SMTP port and what lands in the
mailboxes is read back with pecora's own readers (`parse_pec`, `smime.verify` against the
sandbox CA). The last test points a mailbox at a running pecora daemon's LMTP port: the
sandbox's receipts must go through pecora's real pipeline (route ``pec-receipt``, state done).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import select

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import LmtpMailbox, MemoryMailbox, PecNetwork
from daemon.sandbox.provider import SandboxProvider, SubmissionRejected
from daemon.sandbox.provider_faults import ProviderFaults
from handlers.formats import smime
from handlers.formats.daticert import DaticertErrore, TipoRicevuta
from handlers.formats.pec import PecKind, PecMessage, parse_pec
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore
from store import outbox
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import InboxItem, InboxState, OutboxItem, OutboxState, PecReceipt
from tests.conftest import reset_database
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.net import free_port

ALICE, BOB = "alice@pec.aruba.test", "bob@pec.aruba.test"
SDI = "sdi01@pec.fatturapa.it"
PASSWORD = "alice-secret"
INVOICE = b'<?xml version="1.0"?><p:FatturaElettronica versione="FPR12"/>\r\n'
BLOB = os.urandom(3000)  # binary attachment: must come out byte-identical


@pytest.fixture(scope="module")
def aruba_pki() -> tuple[bytes, Pkcs12Signer]:
    return make_sandbox_pki("ARUBA PEC", email="posta-certificata@pec.aruba.test")


@pytest.fixture(scope="module")
def sogei_pki() -> tuple[bytes, Pkcs12Signer]:
    return make_sandbox_pki("Sogei", email="posta-certificata@pcert.sogei.test")


@dataclass
class World:
    provider: SandboxProvider
    port: int
    trust: TrustStore
    boxes: dict[str, MemoryMailbox] = field(default_factory=dict)

    def kinds(self, who: str) -> list[PecKind]:
        return [parse_pec(m).kind for m in self.boxes[who].messages]


@pytest.fixture
async def world(aruba_pki: tuple[bytes, Pkcs12Signer]) -> AsyncIterator[World]:
    ca, signer = aruba_pki
    provider = SandboxProvider("pec.aruba.test", "ARUBA PEC S.p.A.", signer,
                               FastClock(factor=36_000), ca_pem=ca, max_message_bytes=64_000)
    boxes = {a: MemoryMailbox() for a in (ALICE, BOB)}
    provider.add_account(ALICE, PASSWORD, boxes[ALICE])
    provider.add_account(BOB, "bob-secret", boxes[BOB])
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(provider.serve("127.0.0.1", port, stop, started))
    await asyncio.wait_for(started.wait(), 5)
    try:
        yield World(provider, port, TrustStore.from_bytes([ca]), boxes)
    finally:
        stop.set()
        await server
        await provider.close()


def message(to: Sequence[str] = (BOB,), sender: str = ALICE, *, msgid: str = "<inv-1@pecora.test>",
            extra: bytes = b"", cc: Sequence[str] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), "IT01234567890_00001.xml"
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Message-ID"] = msgid
    msg.set_content("Fattura in allegato.")
    msg.add_attachment(INVOICE, maintype="application", subtype="xml",
                       filename="IT01234567890_00001.xml")
    msg.add_attachment(BLOB + extra, maintype="application", subtype="octet-stream",
                       filename="allegato.bin")
    return msg.as_bytes(policy=SMTP_POLICY)


async def submit(port: int, raw: bytes, rcpts: Sequence[str] = (BOB,), *, login: str = ALICE,
                 password: str = PASSWORD, mail_from: str = ALICE) -> str:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        await client.login(login, password)
        _, reply = await client.sendmail(mail_from, list(rcpts), raw)
    return reply


def check_signed(w: World, raw: bytes) -> PecMessage:
    verdict = smime.verify(raw, w.trust)
    assert verdict.ok, verdict
    return parse_pec(raw)


async def test_sandbox_to_sandbox_receipts_and_envelope(world: World) -> None:
    raw = message()
    reply = await submit(world.port, raw)
    acc, cons = (check_signed(world, m) for m in world.boxes[ALICE].messages)
    assert (acc.kind, cons.kind) == (PecKind.ACCETTAZIONE, PecKind.AVVENUTA_CONSEGNA)
    identificativo = reply.rsplit(" ", 1)[1]
    for receipt in (acc, cons):
        assert receipt.riferimento_message_id == "inv-1@pecora.test"
        cert = receipt.daticert
        assert cert is not None
        assert cert.msgid == "inv-1@pecora.test"
        assert cert.identificativo == identificativo  # the transport's id, in both receipts
        assert cert.mittente == ALICE
        assert [d.address for d in cert.destinatari] == [BOB]
        assert cert.gestore_emittente == "ARUBA PEC S.p.A."
        assert cert.errore is DaticertErrore.NESSUNO
        assert receipt.from_address == "posta-certificata@pec.aruba.test"
    assert acc.message_id != cons.message_id
    assert cons.daticert is not None and cons.daticert.consegna == BOB
    assert cons.tipo_ricevuta is None or cons.tipo_ricevuta is TipoRicevuta.COMPLETA
    assert cons.postacert is not None  # ricevuta completa carries the certified original
    (envelope_raw,) = world.boxes[BOB].messages
    envelope = check_signed(world, envelope_raw)
    assert envelope.kind is PecKind.POSTA_CERTIFICATA
    assert envelope.message_id == identificativo
    assert envelope.riferimento_message_id == "inv-1@pecora.test"
    assert envelope.mittente == ALICE and envelope.reply_to == ALICE
    inner = envelope.postacert
    assert inner is not None
    assert inner.message_id == identificativo
    assert inner.riferimento_message_id == "inv-1@pecora.test"
    xml, blob = inner.attachment("IT01234567890_00001.xml"), inner.attachment("allegato.bin")
    assert xml is not None and xml.content == INVOICE
    assert blob is not None and blob.content == BLOB
    assert world.boxes[ALICE].messages[0] != world.boxes[ALICE].messages[1]


@pytest.mark.parametrize(
    ("header_from", "mail_from"), [("mallory@pec.aruba.test", ALICE), (ALICE, BOB)],
    ids=["from-header", "mail-from"],
)
async def test_wrong_sender_is_not_accepted(world: World, header_from: str, mail_from: str) -> None:
    reply = await submit(world.port, message(sender=header_from), mail_from=mail_from)
    assert "not accepted" in reply
    (raw,) = world.boxes[ALICE].messages
    refused = check_signed(world, raw)
    assert refused.kind is PecKind.NON_ACCETTAZIONE
    assert refused.riferimento_message_id == "inv-1@pecora.test"
    assert refused.daticert is not None and refused.daticert.errore is DaticertErrore.ALTRO
    assert "Mittente non consentito" in (refused.daticert.errore_esteso or "")
    assert world.boxes[BOB].messages == []


async def test_oversize_is_not_accepted(world: World) -> None:
    await submit(world.port, message(extra=os.urandom(70_000)))
    (raw,) = world.boxes[ALICE].messages
    refused = check_signed(world, raw)
    assert refused.kind is PecKind.NON_ACCETTAZIONE
    assert refused.daticert is not None
    assert "troppo grande" in (refused.daticert.errore_esteso or "")
    assert world.boxes[BOB].messages == []


async def test_blind_copy_is_not_accepted(world: World) -> None:
    await submit(world.port, message(to=[BOB]), rcpts=[BOB, "carol@pec.aruba.test"])
    assert world.kinds(ALICE) == [PecKind.NON_ACCETTAZIONE]
    assert world.boxes[BOB].messages == []


async def test_unknown_recipient_gets_errore_consegna(world: World) -> None:
    nobody = "nobody@pec.aruba.test"
    await submit(world.port, message(to=[BOB, nobody]), rcpts=[BOB, nobody])
    kinds = world.kinds(ALICE)
    assert kinds == [PecKind.ACCETTAZIONE, PecKind.AVVENUTA_CONSEGNA, PecKind.ERRORE_CONSEGNA]
    failed = check_signed(world, world.boxes[ALICE].messages[2])
    assert failed.daticert is not None
    assert failed.daticert.errore is DaticertErrore.NO_DEST
    assert failed.daticert.consegna == nobody
    assert "5.1.1" in (failed.daticert.errore_esteso or "")
    assert len(world.boxes[BOB].messages) == 1


async def test_unknown_recipient_with_preavviso_fault(world: World) -> None:
    world.provider.faults = ProviderFaults(preavviso_unknown=True)
    await submit(world.port, message(to=["nobody@x.test"]), rcpts=["nobody@x.test"])
    assert world.kinds(ALICE) == [PecKind.ACCETTAZIONE, PecKind.PREAVVISO_ERRORE_CONSEGNA,
                                  PecKind.ERRORE_CONSEGNA]


async def test_authentication(world: World) -> None:
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as bad:
        await submit(world.port, message(), password="wrong")
    assert bad.value.code == 535
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=world.port, start_tls=False) as c:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as anonymous:
            await c.sendmail(ALICE, [BOB], message())
    assert anonymous.value.code == 530
    assert world.boxes[ALICE].messages == world.boxes[BOB].messages == []


async def test_unusable_message_and_tempfail_are_smtp_errors(world: World) -> None:
    no_id = message().replace(b"Message-ID: <inv-1@pecora.test>\r\n", b"")
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await submit(world.port, no_id)
    assert err.value.code == 550
    world.provider.faults = ProviderFaults(tempfail_submissions=True)
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await submit(world.port, message())
    assert err.value.code == 451
    assert world.boxes[ALICE].messages == world.boxes[BOB].messages == []


async def test_refuse_all_fault(world: World) -> None:
    world.provider.faults = ProviderFaults(refuse_all=True)
    await submit(world.port, message())
    assert world.kinds(ALICE) == [PecKind.NON_ACCETTAZIONE]
    assert world.boxes[BOB].messages == []


@dataclass
class FakeSdi:
    """A test double of our own `Endpoint` protocol: records what it is given."""

    calls: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    fail: bool = False

    def accepts(self, address: str) -> bool:
        return address.lower().endswith("@pec.fatturapa.it")

    async def receive(self, address: str, original: bytes, envelope: bytes) -> None:
        if self.fail:
            raise RuntimeError("SdI down")
        self.calls.append((address, original, envelope))


async def test_endpoint_at_linked_provider(world: World,
                                           sogei_pki: tuple[bytes, Pkcs12Signer]) -> None:
    ca, signer = sogei_pki
    sogei = SandboxProvider("pcert.sogei.test", "Sogei SpA", signer, world.provider.clock,
                            ca_pem=ca)
    sdi = FakeSdi()
    sogei.add_endpoint(sdi)
    world.provider.link(sogei)
    raw = message(to=[SDI])
    await submit(world.port, raw, rcpts=[SDI])
    ((address, original, envelope),) = sdi.calls
    assert address == SDI and original == raw
    assert check_signed(world, envelope).kind is PecKind.POSTA_CERTIFICATA  # sender's provider
    acc_raw, cons_raw = world.boxes[ALICE].messages
    assert parse_pec(acc_raw).kind is PecKind.ACCETTAZIONE
    consegna = parse_pec(cons_raw)  # issued by the recipient's provider, Sogei
    assert smime.verify(cons_raw, TrustStore.from_bytes([ca])).ok
    assert consegna.kind is PecKind.AVVENUTA_CONSEGNA
    assert consegna.daticert is not None
    assert consegna.daticert.gestore_emittente == "Sogei SpA"
    assert consegna.daticert.consegna == SDI
    sdi.fail = True
    await submit(world.port, message(to=[SDI], msgid="<inv-2@pecora.test>"), rcpts=[SDI])
    failed = parse_pec(world.boxes[ALICE].messages[-1])
    assert failed.kind is PecKind.ERRORE_CONSEGNA
    assert failed.daticert is not None and failed.daticert.errore is DaticertErrore.ALTRO
    await sogei.close()


async def test_sdi_sends_through_its_provider_and_collects_receipts(
    world: World, sogei_pki: tuple[bytes, Pkcs12Signer]
) -> None:
    """SdI's path (domain.md §4.1): its notification goes through Sogei to a user at another
    provider; SdI keeps an account only for its receipts, its mail still reaches the endpoint."""
    ca, signer = sogei_pki
    sogei = SandboxProvider("pcert.sogei.test", "Sogei SpA", signer, ca_pem=ca)
    sdi, sdi_receipts = FakeSdi(), MemoryMailbox()
    sogei.add_endpoint(sdi)
    sogei.add_account(SDI, "sdi-secret", sdi_receipts)
    sogei.link(world.provider)
    await sogei.send(SDI, [ALICE], message(to=[ALICE], sender=SDI, msgid="<rc-1@sdi.test>"))
    (envelope,) = world.boxes[ALICE].messages
    sogei_trust = TrustStore.from_bytes([ca])
    assert smime.verify(envelope, sogei_trust).ok  # wrapped by the sender's provider
    assert parse_pec(envelope).from_address == "posta-certificata@pcert.sogei.test"
    acc, cons = (parse_pec(m) for m in sdi_receipts.messages)
    assert acc.kind is PecKind.ACCETTAZIONE and smime.verify(sdi_receipts.messages[0],
                                                             sogei_trust).ok
    assert cons.kind is PecKind.AVVENUTA_CONSEGNA  # from the recipient's provider
    assert check_signed(world, sdi_receipts.messages[1]).daticert is not None
    await submit(world.port, message(to=[SDI]), rcpts=[SDI])
    assert len(sdi.calls) == 1 and len(sdi_receipts.messages) == 2  # endpoint, not mailbox
    await sogei.close()


async def test_delayed_and_duplicated_receipts(world: World) -> None:
    provider, clock = world.provider, world.provider.clock
    provider.faults = ProviderFaults(delay_receipts_seconds=3600, duplicate_receipts=True)
    start = clock.now()
    await submit(world.port, message())
    assert world.kinds(ALICE) == [PecKind.ACCETTAZIONE] * 2  # duplicated, not delayed
    assert world.boxes[ALICE].messages[0] == world.boxes[ALICE].messages[1]
    assert len(world.boxes[BOB].messages) == 1  # delivered now; only the receipt is late
    assert provider.pending == 1
    await provider.settle()
    assert (clock.now() - start).total_seconds() >= 3600
    assert world.kinds(ALICE)[2:] == [PecKind.AVVENUTA_CONSEGNA] * 2
    assert provider.pending == 0


async def test_lost_delivery_gets_preavviso_then_timeout(world: World) -> None:
    provider = world.provider
    provider.clock = FastClock(factor=864_000)  # a simulated day in 0.1 s
    provider.faults = ProviderFaults(drop_delivery_to=frozenset({BOB.upper()}))
    start = provider.clock.now()
    await submit(world.port, message())
    assert world.kinds(ALICE) == [PecKind.ACCETTAZIONE]
    await provider.settle()
    assert (provider.clock.now() - start).total_seconds() >= 24 * 3600
    assert world.boxes[BOB].messages == []
    notice, final = (check_signed(world, m) for m in world.boxes[ALICE].messages[1:])
    assert notice.kind is PecKind.PREAVVISO_ERRORE_CONSEGNA
    assert final.kind is PecKind.ERRORE_CONSEGNA
    assert (final.subject or "").startswith("AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO")
    assert final.daticert is not None and final.daticert.consegna == BOB


async def test_close_cancels_delayed_receipts(world: World) -> None:
    world.provider.faults = ProviderFaults(delay_accettazione_seconds=10**9,
                                           delay_receipts_seconds=10**9)
    await submit(world.port, message())
    assert world.provider.pending == 2
    await world.provider.close()
    assert world.provider.pending == 0
    assert world.boxes[ALICE].messages == []
    assert len(world.boxes[BOB].messages) == 1


async def test_in_process_send_and_external_mail(world: World) -> None:
    network: PecNetwork = world.provider  # the contract in-process actors use
    await network.send(SDI, [ALICE], message(to=[ALICE], sender=SDI))
    (envelope,) = world.boxes[ALICE].messages  # SDI has no mailbox here: receipts go nowhere
    assert check_signed(world, envelope).mittente == SDI
    with pytest.raises(SubmissionRejected):
        await network.send(ALICE, [BOB], message().replace(b"From: ", b"X-From: "))
    anomaly_id = await world.provider.inject_external(BOB, message(sender="spam@example.org"))
    anomaly = check_signed(world, world.boxes[BOB].messages[-1])
    assert anomaly.kind is PecKind.ANOMALIA and anomaly.message_id == anomaly_id


async def test_ricevuta_sintetica_on_request(world: World) -> None:
    raw = message().replace(b"Message-ID:", b"X-TipoRicevuta: sintetica\r\nMessage-ID:", 1)
    await submit(world.port, raw)
    consegna = check_signed(world, world.boxes[ALICE].messages[1])
    assert consegna.kind is PecKind.AVVENUTA_CONSEGNA
    assert consegna.daticert is not None
    assert consegna.daticert.ricevuta is TipoRicevuta.SINTETICA
    assert consegna.postacert is None  # daticert only
    envelope = parse_pec(world.boxes[BOB].messages[0])
    assert envelope.tipo_ricevuta is TipoRicevuta.SINTETICA  # the envelope echoes the request


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="negative"):
        ProviderFaults(delay_receipts_seconds=-1)
    with pytest.raises(ValueError, match="preavviso"):
        ProviderFaults(preavviso_after_seconds=10, timeout_after_seconds=5)
    assert ProviderFaults(drop_delivery_to=frozenset({"A@B.test"})).dropped("a@b.TEST")


async def test_serves_loopback_only(world: World) -> None:
    with pytest.raises(ValueError, match="loopback"):
        await world.provider.serve("0.0.0.0", free_port(), asyncio.Event())  # noqa: S104


async def test_starttls_when_given_a_context(aruba_pki: tuple[bytes, Pkcs12Signer]) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    pki_ca, signer = aruba_pki
    provider = SandboxProvider("pec.aruba.test", "ARUBA PEC S.p.A.", signer, ca_pem=pki_ca)
    box = MemoryMailbox()
    provider.add_account(ALICE, PASSWORD, box)
    provider.add_account(BOB, "bob-secret", MemoryMailbox())
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(provider.serve("127.0.0.1", port, stop, started, tls=server_tls))
    await asyncio.wait_for(started.wait(), 5)
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True,
                                   tls_context=client_tls) as client:
            assert client.get_transport_info("sslcontext") is not None  # upgraded
            await client.login(ALICE, PASSWORD)
            await client.sendmail(ALICE, [BOB], message())
    finally:
        stop.set()
        await server
        await provider.close()
    assert [parse_pec(m).kind for m in box.messages] == [PecKind.ACCETTAZIONE,
                                                        PecKind.AVVENUTA_CONSEGNA]


async def test_pecora_sends_through_the_sandbox_and_records_its_receipts(
    tmp_path: Path, db_url: str, aruba_pki: tuple[bytes, Pkcs12Signer]
) -> None:
    """The whole loop: pecora's outbox submits over SMTP with its PEC channel, the sandbox
    delivers the receipts to pecora's LMTP, pecora's pipeline records them (route
    ``pec-receipt``, state done) against the outbox item they name."""
    await reset_database(db_url)
    port, stop, started = free_port(), asyncio.Event(), asyncio.Event()
    (tmp_path / "pec.pw").write_text(PASSWORD + "\n")
    settings = daemon_settings(tmp_path, db_url, channels={"pec-main": {
        "kind": "pec", "port": port, "security": "plain", "username": ALICE,
        "password": {"file": str(tmp_path / "pec.pw")}, "sender": ALICE}})
    ca, signer = aruba_pki
    provider = SandboxProvider("pec.aruba.test", "ARUBA PEC S.p.A.", signer, ca_pem=ca)
    provider.add_account(ALICE, PASSWORD, LmtpMailbox("127.0.0.1", settings.lmtp.port, ALICE))
    bob = MemoryMailbox()
    provider.add_account(BOB, "bob-secret", bob)
    server = asyncio.create_task(provider.serve("127.0.0.1", port, stop, started))
    await asyncio.wait_for(started.wait(), 5)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with running(settings):
            async with sessions() as s, s.begin():
                sent_id = await outbox.enqueue(s, outbox.NewOutgoing(
                    channel="pec-main", payload=message(), recipients=(BOB,),
                    idempotency_key="invoice:1:send", sender=ALICE,
                    message_id="<inv-1@pecora.test>"), now=utcnow())

            async def done() -> list[InboxItem] | None:
                async with sessions() as s:
                    items = list((await s.execute(select(InboxItem))).scalars())
                ok = len(items) == 2 and all(i.state is InboxState.DONE for i in items)
                return items if ok else None

            items = await wait_for(done, timeout=20)
        async with sessions() as s:
            receipts = list((await s.execute(select(PecReceipt).order_by(PecReceipt.id))).scalars())
            sent = await s.get(OutboxItem, sent_id)
    finally:
        stop.set()
        await server
        await provider.close()
        await engine.dispose()
    assert sent is not None and sent.state is OutboxState.SENT
    assert {i.route for i in items} == {"pec-receipt"}
    assert [r.receipt_type for r in receipts] == ["accettazione", "avvenuta-consegna"]
    assert all(r.outbox_id == sent_id for r in receipts)
    assert receipts[1].recipient == BOB
    (envelope,) = bob.messages
    inner = parse_pec(envelope).postacert
    assert inner is not None and inner.riferimento_message_id == "inv-1@pecora.test"
