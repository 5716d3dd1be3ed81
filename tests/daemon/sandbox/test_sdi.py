"""The simulated SdI driven end to end through a recording `PecNetwork` double.

Files are mailed to ``sdi01``/``sdiNN`` as a transmitter (pecora) would; the double records
every message SdI submits and carries mail addressed to SdI back into it wrapped in a real
transport envelope (what the provider hands an endpoint). Every SdI message produced is parsed
with `parse_sdi_message`, its XAdES signature verified against the sandbox SdI CA, and its name
checked against `notification_file_name` with the per-file counter. Time runs on a fast clock:
15 simulated days take well under a second, and every wait is on a condition. The last tests
go through the real sandbox provider (pecora's provider → Sogei → SdI) and across a restart.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import io
import itertools
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import pytest

from daemon.sandbox.clock import FastClock
from daemon.sandbox.network import MemoryMailbox
from daemon.sandbox.provider import SandboxProvider
from daemon.sandbox.scenarios import DEFAULT_SCENARIOS, Scenarios
from daemon.sandbox.sdi import SDI01, SandboxSdi
from daemon.sandbox.supplier import SimulatedSupplier
from handlers.formats import xades
from handlers.formats.fatturapa import write
from handlers.formats.filenames import (
    NotificationType,
    is_valid_invoice_file_name,
    notification_file_name,
    parse_notification_file_name,
)
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.pec import PecKind, PecMessage, parse_pec
from handlers.formats.pec_build import PecProvider, transport_envelope
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sdi import build_esito_committente, ec_file_name, parse_sdi_message
from handlers.formats.sdi_types import (
    AttestazioneTrasmissioneFattura,
    Esito,
    MetadatiInvioFile,
    NotificaDecorrenzaTermini,
    NotificaEsito,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    Scarto,
    ScartoEsitoCommittente,
    SdiFlow,
    SdiMessage,
)
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore
from tests.handlers.formats.fatturapa import factory
from tests.support.ref import ref_bytes

PECORA = "pecora@pec.example.test"
SDI17 = "sdi17@pec.fatturapa.it"
FACTOR = 2_000_000  # 15 days ≈ 0.65 s
SLOW = 200_000  # 1 day ≈ 0.4 s, 15 days ≈ 6.5 s: room to act before a deadline
SLOWER = pytest.mark.parametrize("world", [SLOW], indirect=True)
T = TypeVar("T")


@dataclass
class Sent:
    """One message submitted to the network."""

    sender: str
    to: str
    raw: bytes

    def files(self) -> dict[str, bytes]:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        out = {}
        for part in message.walk():
            name = part.get_filename()
            payload = part.get_payload(decode=True)
            if name and isinstance(payload, bytes):
                out[name] = payload
        return out

    def text(self) -> str:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        return "".join(str(p.get_content()) for p in message.walk()
                       if p.get_content_type() == "text/plain" and not p.get_filename())


@dataclass
class Notice:
    """One SdI file, parsed: name, bytes (XML; the AT XML for an AT zip), value."""

    sent: Sent
    name: str
    xml: bytes
    message: SdiMessage

    @property
    def type(self) -> NotificationType:
        return parse_notification_file_name(self.name).type

    @property
    def counter(self) -> int:
        return int(parse_notification_file_name(self.name).counter)


@dataclass
class FakeNetwork:
    """Records sends; mail for the SdI goes back into it inside a transport envelope."""

    sogei: PecProvider
    clock: FastClock
    sent: list[Sent] = field(default_factory=list)
    sdi: SandboxSdi | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        for to in recipients:
            self.sent.append(Sent(sender, to, raw))
            if self.sdi is not None and self.sdi.accepts(to):
                envelope = transport_envelope(raw, self.sogei, when=self.clock.now(),
                                              identificativo=f"opec.{next(self.serial)}@t")
                await self.sdi.receive(to, raw, envelope)
        async with self.changed:
            self.changed.notify_all()

    async def wait(self, predicate: Callable[[], T | None], timeout: float = 10) -> T:
        async with self.changed:
            result = await asyncio.wait_for(self.changed.wait_for(predicate), timeout)
        assert result is not None
        return result

    def notices(self, to: str) -> list[Notice]:
        out = []
        for sent in self.sent:
            if sent.to != to or not sent.sender.startswith("sdi"):
                continue
            for name, data in sent.files().items():
                try:
                    kind = parse_notification_file_name(name).type
                except ValueError:
                    continue  # the invoice travelling with its MT
                xml = data
                if kind is NotificationType.AT:
                    with zipfile.ZipFile(io.BytesIO(data)) as archive:
                        xml = archive.read(name[: -len(".zip")] + ".xml")
                out.append(Notice(sent, name, xml, parse_sdi_message(xml)))
        return out

    async def wait_notices(self, to: str, count: int) -> list[Notice]:
        return await self.wait(lambda: n if len(n := self.notices(to)) >= count else None)


@dataclass
class World:
    net: FakeNetwork
    sdi: SandboxSdi
    clock: FastClock
    sdi_trust: TrustStore
    seller: Pkcs12Signer

    async def submit(self, name: str, content: bytes, *, to: str = SDI01,
                     sender: str = PECORA) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, name
        message["Message-ID"] = f"<{name}.{next(self.net.serial)}@example.test>"
        message.set_content("fattura")
        message.add_attachment(content, maintype="application", subtype="octet-stream",
                               filename=name)
        await self.net.send(sender, [to], message.as_bytes())

    def p7m(self, xml: bytes) -> bytes:
        return sign_cades_bes(xml, self.seller, signing_time=self.clock.now())

    def check(self, notices: list[Notice]) -> None:
        """Every SdI message: verifies against the sandbox SdI CA (MT: unsigned)."""
        for n in notices:
            nome = getattr(n.message, "nome_file", None)
            if nome and is_valid_invoice_file_name(nome):
                assert n.name == notification_file_name(nome, n.type, n.counter)
            if n.type is NotificationType.MT:
                assert not n.message.signed
                continue
            verdict = xades.verify(n.xml, self.sdi_trust)
            assert verdict.ok, (n.name, verdict.reason)


@pytest.fixture(scope="module")
def sdi_pki() -> tuple[bytes, Pkcs12Signer]:
    return make_sandbox_pki("Sistema Interscambio")


@pytest.fixture(scope="module")
def sogei() -> PecProvider:
    return PecProvider("Sogei SpA", "pcert.sogei.test",
                       make_sandbox_pki("Sogei", email="posta-certificata@pcert.sogei.test")[1])


@pytest.fixture(scope="module")
def seller() -> Pkcs12Signer:
    return make_sandbox_pki("Fornitore")[1]


def _world(sdi_pki: tuple[bytes, Pkcs12Signer], sogei: PecProvider, seller: Pkcs12Signer,
           state: Path | None, scenarios: Scenarios = DEFAULT_SCENARIOS, factor: float = FACTOR
           ) -> World:
    clock = FastClock(factor=factor)
    net = FakeNetwork(sogei, clock)
    net.sdi = SandboxSdi(net, clock, sdi_pki[1], scenarios, state_path=state)
    return World(net, net.sdi, clock, TrustStore.from_bytes([sdi_pki[0]]), seller)


@pytest.fixture
async def world(request: pytest.FixtureRequest, sdi_pki: tuple[bytes, Pkcs12Signer],
                sogei: PecProvider, seller: Pkcs12Signer, tmp_path: Path
                ) -> AsyncIterator[World]:
    # A test that must act *before* a deadline asks for a slower clock (indirect parameter),
    # so a loaded machine cannot let the 15 days run out first.
    factor = getattr(request, "param", FACTOR)
    w = _world(sdi_pki, sogei, seller, tmp_path / "sdi.json", factor=factor)
    yield w
    await w.sdi.close()


def _invoice(numero: str, **kw: object) -> bytes:
    return write(factory.invoice(factory.body(numero=numero), **kw))  # type: ignore[arg-type]


def _codes(notice: Notice) -> list[str]:
    assert isinstance(notice.message, NotificaScarto)
    return [e.codice for e in notice.message.errori]


# --- transmitter side: NS / RC / MC ----------------------------------------------------------


async def test_rc_announces_sdinn_and_the_next_file_goes_there(world: World) -> None:
    await world.submit("IT01234567890_FPR01.xml", ref_bytes("invoices", "IT01234567890_FPR01.xml"))
    [rc] = await world.net.wait_notices(PECORA, 1)
    assert isinstance(rc.message, RicevutaConsegna) and rc.message.flow is SdiFlow.B2B
    assert rc.name == "IT01234567890_FPR01_RC_001.xml"
    assert rc.sent.sender == SDI17 and SDI17 in rc.sent.text()
    assert rc.message.hash is not None and rc.message.nome_file == "IT01234567890_FPR01.xml"
    assert world.sdi.address_for(PECORA) == SDI17

    await world.submit("IT01234567890_00002.xml", _invoice("2"), to=SDI17)
    notices = await world.net.wait_notices(PECORA, 2)
    assert isinstance(notices[1].message, RicevutaConsegna)
    assert world.sdi.misdirected == []
    world.check(notices)
    # a transmitter that ignores the announced address is noted (§4.1: "no guarantee")
    await world.submit("IT01234567890_00003.xml", _invoice("3"), to=SDI01)
    await world.net.wait_notices(PECORA, 3)
    assert world.sdi.misdirected == [(PECORA, SDI01)]


@pytest.mark.parametrize(("name", "content", "code"), [
    ("fattura.xml", b"<x/>", "00001"),
    ("IT01234567890_FPR03.xml", None, "00422"),
])
async def test_scarto_codes(world: World, name: str, content: bytes | None, code: str) -> None:
    data = content or ref_bytes("invoices", "IT01234567890_FPR03.xml")
    await world.submit(name, data)
    [ns] = await world.net.wait_notices(PECORA, 1)
    assert ns.type is NotificationType.NS and code in _codes(ns)
    assert ns.message.nome_file == name  # type: ignore[union-attr]
    world.check([ns])


async def test_name_reuse_is_00002_even_after_a_restart(
        world: World, sdi_pki: tuple[bytes, Pkcs12Signer], sogei: PecProvider,
        seller: Pkcs12Signer, tmp_path: Path) -> None:
    await world.submit("IT01234567890_AAAAA.xml", b"not xml")  # discarded: the name is burnt
    await world.submit("IT01234567890_AAAAA.xml", _invoice("1"))
    first, second = await world.net.wait_notices(PECORA, 2)
    assert _codes(first) == ["00200"] and _codes(second) == ["00002"]
    await world.sdi.close()
    again = _world(sdi_pki, sogei, seller, tmp_path / "sdi.json")
    try:
        await again.submit("IT01234567890_AAAAA.xml", _invoice("1"), to=SDI17)
        [ns] = await again.net.wait_notices(PECORA, 1)
        assert _codes(ns) == ["00002"] and ns.sent.sender == SDI17
    finally:
        await again.sdi.close()


async def test_duplicate_invoice_is_00404(world: World) -> None:
    await world.submit("IT01234567890_FPR01.xml", ref_bytes("invoices", "IT01234567890_FPR01.xml"))
    # FPR02: same seller, Numero 123 of 2014, TD01 — already accepted
    await world.submit("IT01234567890_FPR02.xml", ref_bytes("invoices", "IT01234567890_FPR02.xml"))
    notices = await world.net.wait(lambda: [x for x in world.net.notices(PECORA)
                                            if x.type is NotificationType.NS] or None)
    assert _codes(notices[0]) == ["00404"]


async def test_fpa12_unsigned_is_refused_in_the_pa_flow(world: World) -> None:
    await world.submit("IT01234567890_FPA01.xml", ref_bytes("invoices", "IT01234567890_FPA01.xml"))
    [ns] = await world.net.wait_notices(PECORA, 1)
    assert _codes(ns) == ["00102"] and ns.message.flow is SdiFlow.PA
    world.check([ns])


async def test_forced_scarto_and_b2c_mancata_consegna(world: World) -> None:
    await world.submit("IT01234567890_00001.xml", _invoice("1", codice="SCARTO1"))
    await world.submit("IT01234567890_x05mX.xml", ref_bytes("invoices", "IT01234567890_x05mX.xml"))
    ns, mc = await world.net.wait_notices(PECORA, 2)
    assert _codes(ns) == ["00404"]
    assert isinstance(mc.message, NotificaMancataConsegna)
    assert mc.message.data_messa_a_disposizione is not None
    world.check([ns, mc])


# --- PA flow -----------------------------------------------------------------------------------


async def _send_pa(world: World, codice: str, name: str = "IT01234567890_PA001.xml.p7m") -> str:
    xml = _invoice("7", formato="FPA12", codice=codice)
    await world.submit(name, world.p7m(xml))
    return name


@SLOWER
async def test_pa_accepts_ne_ec01(world: World) -> None:
    await _send_pa(world, "UFF001")
    mt, *_ = await world.net.wait_notices("uff001@pa.sandbox.test", 1)
    assert isinstance(mt.message, MetadatiInvioFile) and mt.name.endswith("_MT_001.xml")
    assert "IT01234567890_PA001.xml.p7m" in mt.sent.files()
    rc, ne = await world.net.wait_notices(PECORA, 2)
    assert isinstance(rc.message, RicevutaConsegna) and rc.counter == 2
    assert isinstance(ne.message, NotificaEsito) and ne.message.esito is Esito.EC01
    assert ne.counter == 3 and ne.message.identificativo_sdi == rc.message.identificativo_sdi
    world.check([mt, rc, ne])


@SLOWER
async def test_pa_refuses_ne_ec02_then_a_second_ec_is_se(world: World) -> None:
    name = await _send_pa(world, "UFF002")
    _, ne = await world.net.wait_notices(PECORA, 2)
    assert isinstance(ne.message, NotificaEsito) and ne.message.esito is Esito.EC02
    assert "CIG" in (ne.message.esito_committente.descrizione or "")
    # a second EC for the same file is not admissible
    pa = "uff002@pa.sandbox.test"
    await _mail_ec(world, pa, name, ne.message.identificativo_sdi, Esito.EC01)
    [se] = [n for n in await world.net.wait_notices(pa, 2) if n.type is NotificationType.SE]
    assert isinstance(se.message, ScartoEsitoCommittente) and se.message.scarto is Scarto.EN01
    world.check([ne, se])


async def _mail_ec(world: World, pa: str, name: str, ident: str, esito: Esito) -> None:
    ec = build_esito_committente(ident, None, esito, None, "PA1")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = pa, SDI17, "EC"
    message["Message-ID"] = f"<ec.{next(world.net.serial)}@pa.test>"
    message.add_attachment(ec, maintype="application", subtype="xml",
                           filename=ec_file_name(name, 1))
    await world.net.send(pa, [SDI17], message.as_bytes())


async def test_no_answer_dt_after_15_days_then_ec_is_se_en01(world: World) -> None:
    name = await _send_pa(world, "UFF003")
    pa = "uff003@pa.sandbox.test"
    rc, dt_ = await world.net.wait_notices(PECORA, 2)
    assert isinstance(dt_.message, NotificaDecorrenzaTermini)
    record = world.sdi.record(rc.message.identificativo_sdi)
    assert record is not None and record.delivered_at is not None
    assert world.clock.now() - record.delivered_at >= timedelta(days=15)
    mt, dt_pa = await world.net.wait_notices(pa, 2)
    assert dt_pa.type is NotificationType.DT and dt_pa.name == dt_.name
    await _mail_ec(world, pa, name, rc.message.identificativo_sdi, Esito.EC01)
    se = (await world.net.wait_notices(pa, 3))[2]
    assert isinstance(se.message, ScartoEsitoCommittente) and se.message.scarto is Scarto.EN01
    assert [n.counter for n in (mt, rc, dt_, se)] == [1, 2, 3, 4]
    world.check([mt, rc, dt_, se])


async def test_ec_for_an_unknown_file_is_se_en01(world: World) -> None:
    await _mail_ec(world, "uff009@pa.sandbox.test", "IT01234567890_ZZZZZ.xml", "4242",
                   Esito.EC01)
    [se] = await world.net.wait_notices("uff009@pa.sandbox.test", 1)
    assert isinstance(se.message, ScartoEsitoCommittente) and se.message.scarto is Scarto.EN01
    assert se.message.identificativo_sdi == "4242"


async def test_mc_then_at_after_10_days(world: World) -> None:
    name = await _send_pa(world, "UFF004")
    mc, at = await world.net.wait_notices(PECORA, 2)
    assert isinstance(mc.message, NotificaMancataConsegna) and mc.message.flow is SdiFlow.PA
    assert isinstance(at.message, AttestazioneTrasmissioneFattura)
    assert at.name.endswith("_AT_002.zip")
    with zipfile.ZipFile(io.BytesIO(at.sent.files()[at.name])) as archive:
        assert name in archive.namelist()
    record = world.sdi.record(mc.message.identificativo_sdi)
    assert record is not None
    assert world.clock.now() - record.received_at >= timedelta(days=10)
    world.check([mc, at])


@pytest.mark.parametrize("world", [500_000], indirect=True)  # 10 days ≈ 1.7 s
async def test_mc_then_rc_then_accepted(world: World) -> None:
    await _send_pa(world, "UFF005")
    mc, rc, ne = await world.net.wait_notices(PECORA, 3)
    assert [mc.type, rc.type, ne.type] == [NotificationType.MC, NotificationType.RC,
                                           NotificationType.NE]


# --- timing faults -----------------------------------------------------------------------------


async def test_out_of_order_mc_after_rc(world: World) -> None:
    await world.submit("IT01234567890_00001.xml", _invoice("1", codice="DISORDI"))
    rc, mc = await world.net.wait_notices(PECORA, 2)
    assert rc.type is NotificationType.RC and mc.type is NotificationType.MC
    assert mc.counter < rc.counter  # produced first, arrives last
    world.check([rc, mc])


async def test_duplicates_delay_silence_and_address_change(world: World) -> None:
    start = world.clock.now()
    await world.submit("IT01234567890_00001.xml", _invoice("1", codice="DOPPIO1"))
    a, b = await world.net.wait_notices(PECORA, 2)
    assert a.name == b.name and a.sent.raw == b.sent.raw
    await world.submit("IT01234567890_00002.xml", _invoice("2", codice="RITARDO"), to=SDI17)
    await world.net.wait_notices(PECORA, 3)
    assert world.clock.now() - start >= timedelta(hours=2)
    await world.submit("IT01234567890_00003.xml", _invoice("3", codice="SILENTE"), to=SDI17)
    await world.submit("IT01234567890_00004.xml", _invoice("4", codice="CAMBIO1"), to=SDI17)
    notices = await world.net.wait_notices(PECORA, 4)
    assert len(notices) == 4 and notices[3].sent.sender == "sdi42@pec.fatturapa.it"
    assert "sdi42@pec.fatturapa.it" in notices[3].sent.text()
    assert world.sdi.address_for(PECORA) == "sdi42@pec.fatturapa.it"
    silent = [r for r in world.sdi.memory.files.values() if r.name.endswith("00003.xml")]
    assert silent and silent[0].state.value == "received"


# --- zip, signatures, supplier -----------------------------------------------------------------


async def test_zip_members_answered_each_with_the_archive_reference(world: World) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("IT01234567890_Z0001.xml", _invoice("21"))
        archive.writestr("IT01234567890_Z0002.xml", _invoice("21"))  # same invoice: 00404
    await world.submit("IT01234567890_ZIP01.zip", buffer.getvalue())
    rc, ns = await world.net.wait_notices(PECORA, 2)
    assert isinstance(rc.message, RicevutaConsegna) and _codes(ns) == ["00404"]
    assert rc.message.riferimento_archivio is not None
    assert rc.message.riferimento_archivio.nome_file == "IT01234567890_ZIP01.zip"
    await world.submit("IT01234567890_ZIP02.zip", b"PK\x05\x06" + bytes(18), to=SDI17)
    empty = (await world.net.wait_notices(PECORA, 3))[2]
    assert _codes(empty) == ["00106"]


async def test_signed_b2b_p7m_from_any_ca_is_accepted(world: World) -> None:
    await world.submit("IT01234567890_SIG01.xml.p7m", world.p7m(_invoice("31")))
    [rc] = await world.net.wait_notices(PECORA, 1)
    assert rc.type is NotificationType.RC and rc.name == "IT01234567890_SIG01_RC_001.xml"


@SLOWER
async def test_supplier_delivers_invoice_and_mt_and_pa_ec_is_judged(world: World) -> None:
    buyer = "acquisti@pec.example.test"
    supplier = SimulatedSupplier(world.net, world.clock, recipient=buyer, sdi=world.sdi,
                                 signer=world.seller)
    lot = factory.invoice(factory.body(numero="1"), factory.body(numero="2"),
                          formato="FPA12", codice="UFF999")
    delivery = await supplier.deliver(lot, signed=True)
    [mt] = await world.net.wait_notices(buyer, 1)
    assert isinstance(mt.message, MetadatiInvioFile) and mt.message.formato == "FPA12"
    assert mt.sent.files()[delivery.name] == delivery.content
    assert mt.message.hash is None  # the PA MetadatiInvioFile has no Hash (§3.2)
    await _mail_ec(world, buyer, delivery.name, delivery.identificativo_sdi, Esito.EC01)
    [ne] = await world.net.wait_notices(supplier.transmitter, 1)
    assert isinstance(ne.message, NotificaEsito) and ne.message.esito is Esito.EC01
    supplier.deliver_every(3600, lambda n: factory.invoice(factory.body(numero=f"P{n}")),
                           count=2)
    b2b = (await world.net.wait_notices(buyer, 3))[2]
    await supplier.close()
    assert isinstance(b2b.message, MetadatiInvioFile) and b2b.message.flow is SdiFlow.B2B
    invoice = b2b.sent.files()[b2b.message.nome_file]
    assert b2b.message.hash == hashlib.sha256(invoice).hexdigest()  # bytes as delivered


# --- through the real sandbox provider ---------------------------------------------------------


async def test_through_the_sandbox_provider(sdi_pki: tuple[bytes, Pkcs12Signer]) -> None:
    """pecora's provider → Sogei → SdI endpoint; the RC comes back as a transport envelope."""
    clock = FastClock(factor=FACTOR)
    mine = SandboxProvider("pec.example.test", "Example PEC S.p.A.", clock=clock)
    sogei = SandboxProvider("pcert.sogei.test", "Sogei SpA", clock=clock)
    mine.link(sogei)
    box = MemoryMailbox()
    mine.add_account(PECORA, "secret", box)
    sdi = SandboxSdi(sogei, clock, sdi_pki[1], DEFAULT_SCENARIOS)
    sogei.add_endpoint(sdi)
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = PECORA, SDI01, "fattura"
        message["Message-ID"] = "<first@example.test>"
        message.add_attachment(ref_bytes("invoices", "IT01234567890_FPR01.xml"),
                               maintype="application", subtype="octet-stream",
                               filename="IT01234567890_FPR01.xml")
        await mine.send(PECORA, [SDI01], message.as_bytes())

        def envelope() -> PecMessage | None:
            found = [p for p in map(parse_pec, box.messages)
                     if p.kind is PecKind.POSTA_CERTIFICATA]
            return found[0] if found else None

        while (pec := envelope()) is None:
            box.arrived.clear()
            await asyncio.wait_for(box.arrived.wait(), 10)
        assert pec.mittente == SDI17 and pec.postacert is not None
        attachment = pec.postacert.attachment("IT01234567890_FPR01_RC_001.xml")
        assert attachment is not None
        rc = parse_sdi_message(attachment.content)
        assert isinstance(rc, RicevutaConsegna) and rc.pec_message_id  # Sogei's id of ours
        assert xades.verify(attachment.content, TrustStore.from_bytes([sdi_pki[0]])).ok
        assert SDI17 in (pec.postacert.text or "")
    finally:
        await sdi.close()
        await mine.close()
        await sogei.close()


@SLOWER
async def test_restart_rearms_the_dt_timer(
        world: World, sdi_pki: tuple[bytes, Pkcs12Signer], sogei: PecProvider,
        seller: Pkcs12Signer, tmp_path: Path) -> None:
    await _send_pa(world, "UFF003")
    [rc] = await world.net.wait_notices(PECORA, 1)
    await world.sdi.close()  # before the 15 days are over
    again = _world(sdi_pki, sogei, seller, tmp_path / "sdi.json")
    try:
        await again.sdi.start()
        [dt_] = await again.net.wait_notices(PECORA, 1)
        assert isinstance(dt_.message, NotificaDecorrenzaTermini)
        assert dt_.message.identificativo_sdi == rc.message.identificativo_sdi
        assert dt_.counter == rc.counter + 1  # the per-file counter survived the restart
    finally:
        await again.sdi.close()
