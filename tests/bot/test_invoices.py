"""Invoices through the real PTB stack (store seeded directly, both backends): the approval card
with its PDF, Accept, Refuse with a reason, strangers and non-approvers refused, double clicks
and stale buttons, a decision taken elsewhere, desk-hours reminders, and active outcomes with
SdI's error list for subscribers."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import InvoiceHooks
from handlers.formats.fatturapa import write
from handlers.passive.ec_mail import DecisionMailer
from store import invoice_tracking, invoices, parties, passive
from store.clock import utcnow
from store.models_parties import PartyKind, PartyRole
from store.models_passive import (
    InvoicePayment,
    ReceivedFile,
    ReceivedInvoice,
    ReviewState,
)
from store.passive import DecisionPolicy
from tests.bot.conftest import APPROVER, APPROVER2, APPROVERS, CUSTOMER, OPERATOR, STRANGER, Start
from tests.handlers.formats.fatturapa import factory
from tests.support.fake_bot_api import Call, FakeBotApi
from tests.support.invoicing import ADDRESS, SELLER

Sessions = async_sessionmaker[AsyncSession]
POLICY = DecisionPolicy(mailer=DecisionMailer())
XML = write(factory.invoice())
SHA = hashlib.sha256(XML).hexdigest()


async def _fetch(sha256: str) -> bytes:
    assert sha256 == SHA
    return XML


def hooks(**kw: Any) -> InvoiceHooks:
    """Decisions wired, the archive answering with the factory invoice."""
    return InvoiceHooks(**{"policy": POLICY, "fetch": _fetch, **kw})


async def seed_passive(sessions: Sessions, *, pa: bool = False, numero: str = "7") -> int:
    """One received invoice to review (a PA one has an EC deadline in 10 days)."""
    now = utcnow()
    async with sessions() as s, s.begin():
        f = ReceivedFile(file_name=f"IT01234567890_{numero}.xml", file_sha256=SHA + numero[:0],
                         size=len(XML), hash_check="ok", signature="unsigned", ec_required=pa,
                         formato="FPA12" if pa else "FPR12", delivered_at=now,
                         deadline=now + timedelta(days=10) if pa else None, created_at=now)
        s.add(f)
        await s.flush()
        inv = ReceivedInvoice(
            file_id=f.id, position=1, seller_country="IT", seller_code="01234567890",
            seller_name="Fornitore Srl", tipo_documento="TD01", numero=numero,
            data=date(2026, 3, 5), anno=2026, divisa="EUR", importo_totale=Decimal("1220.00"),
            imponibile=Decimal("1000"), imposta=Decimal("220"), created_at=now)
        s.add(inv)
        await s.flush()
        s.add(InvoicePayment(invoice_id=inv.id, condizioni="TP02", modalita="MP05",
                             scadenza=date(2026, 4, 4), importo=Decimal("1220.00")))
        return inv.id


async def _card(api: FakeBotApi) -> tuple[int, Call]:
    (sent,) = await api.wait_for("sendDocument", where=lambda c: int(c.params["chat_id"]) ==
                                 APPROVERS)
    msg = max(m for (c, m) in api.messages if c == APPROVERS)
    return msg, sent


async def _press(api: FakeBotApi, user: int, msg: int, label: str,
                 data: str | None = None) -> Call:
    n = len(api.sent("answerCallbackQuery"))
    await api.push_callback(user, APPROVERS, msg, data or api.buttons(APPROVERS, msg)[label])
    return (await api.wait_for("answerCallbackQuery", n + 1))[-1]


async def _edited(api: FakeBotApi, msg: int, expect: str) -> str:
    for _ in range(200):
        caption = str(api.messages[(APPROVERS, msg)].get("caption", ""))
        if expect in caption:
            return caption
        await asyncio.sleep(0.05)
    raise AssertionError(f"card never said {expect!r}: {caption!r}")


async def _state(sessions: Sessions, invoice_id: int) -> ReviewState:
    async with sessions() as s:
        inv = await s.get(ReceivedInvoice, invoice_id)
        assert inv is not None
        return inv.state


async def test_card_has_summary_and_pdf_accept_then_double_click(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot(hooks())
    inv = await seed_passive(sessions)
    msg, sent = await _card(api)
    caption = sent.params["caption"]
    for part in ("Fornitore Srl", "IT01234567890", "n. 7 del 05/03/2026", "1220.00",
                 "Scadenza pagamento: 04/04/2026", "B2B"):
        assert part in caption
    doc = sent.params["document"]
    assert doc["filename"].endswith(".pdf") and doc["head"] == "%PDF-"
    accept = api.buttons(APPROVERS, msg)
    assert set(accept) == {"✅ Accetta", "❌ Rifiuta"}
    await _press(api, APPROVER, msg, "✅ Accetta")
    text = await _edited(api, msg, "Accettata da Anna")
    assert "B2B" in text and "reply_markup" not in api.messages[(APPROVERS, msg)]
    assert await _state(sessions, inv) is ReviewState.ACCEPTED
    # Double click and a late press of the sibling button: explained, nothing changes.
    again = await _press(api, APPROVER, msg, "", accept["✅ Accetta"])
    assert again.params["text"].startswith("Già fatto")
    other = await _press(api, APPROVER2, msg, "", accept["❌ Rifiuta"])
    assert other.params["text"].startswith("Già fatto")
    async with sessions() as s:
        d = await passive.detail(s, inv)
    assert d is not None and [(x.actor, x.decision) for x in d.decisions] == [
        (f"tg:{APPROVER}", ReviewState.ACCEPTED)]


async def test_refuse_asks_the_reason_then_decides(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot(hooks())
    inv = await seed_passive(sessions, pa=True)
    msg, sent = await _card(api)
    assert "PA: esito (EC) entro" in sent.params["caption"]
    first = api.buttons(APPROVERS, msg)
    await _press(api, APPROVER, msg, "❌ Rifiuta")
    (prompt,) = await api.wait_for("sendMessage", where=lambda c: "motivo del rifiuto" in
                                   str(c.params.get("text")))
    assert prompt.params["reply_markup"]["force_reply"] is True
    # The card got fresh buttons meanwhile; the old ones are spent.
    for _ in range(100):
        if api.buttons(APPROVERS, msg) != first:
            break
        await asyncio.sleep(0.05)
    assert set(api.buttons(APPROVERS, msg)) == set(first)
    assert api.buttons(APPROVERS, msg) != first
    prompt_id = max(m for (c, m) in api.messages if c == APPROVERS)
    await api.push_text(APPROVER, "CIG mancante", chat_id=APPROVERS, reply_to=prompt_id)
    text = await _edited(api, msg, "Rifiutata da Anna")
    assert "Motivo: CIG mancante" in text
    assert await _state(sessions, inv) is ReviewState.REFUSED
    assert "reply_markup" not in api.messages[(APPROVERS, msg)]


async def test_strangers_and_non_approvers_cannot_decide(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot(hooks())
    inv = await seed_passive(sessions)
    msg, _ = await _card(api)
    stranger = await _press(api, STRANGER, msg, "✅ Accetta")
    assert "non sei autorizzato" in stranger.params["text"]
    customer = await _press(api, CUSTOMER, msg, "✅ Accetta")
    assert customer.params["text"] == "Questo pulsante non è per te."
    assert await _state(sessions, inv) is ReviewState.TO_REVIEW
    assert set(api.buttons(APPROVERS, msg)) == {"✅ Accetta", "❌ Rifiuta"}


async def test_decision_taken_elsewhere_is_shown_not_repeated(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot(hooks())
    inv = await seed_passive(sessions)
    msg, _ = await _card(api)
    async with sessions() as s, s.begin():
        await passive.refuse(s, inv, actor="anna-cli", reason="doppia", now=utcnow(),
                             policy=POLICY)
    await _press(api, APPROVER, msg, "✅ Accetta")
    text = await _edited(api, msg, "Rifiutata da anna-cli")
    assert "Accettata" not in text
    await api.wait_for("sendMessage", where=lambda c: "già decisa" in str(c.params.get("text")))
    assert await _state(sessions, inv) is ReviewState.REFUSED


@dataclass
class Desk:
    """A desk whose opening the test switches."""

    open: bool = False

    def __call__(self, now: datetime) -> bool:
        return self.open


async def test_reminders_only_while_the_desk_is_open(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    desk = Desk()
    await start_bot(hooks(desk_open=desk, reminder_before=(timedelta(days=12),),
                          reminder_seconds=0.1))
    await seed_passive(sessions, pa=True)
    msg, _ = await _card(api)
    await asyncio.sleep(1.0)
    assert not [c for c in api.sent() if "⏰" in str(c.params.get("text"))]
    desk.open = True
    (reminder,) = await api.wait_for("sendMessage", where=lambda c: "⏰" in
                                     str(c.params.get("text")))
    assert reminder.params["reply_parameters"]["message_id"] == msg
    await asyncio.sleep(0.5)  # once per threshold, not once per pass
    assert len([c for c in api.sent() if "⏰" in str(c.params.get("text"))]) == 1


async def _active_invoice(sessions: Sessions) -> int:
    now = utcnow()
    async with sessions() as s, s.begin():
        seller = await parties.upsert(s, "me", role=PartyRole.SELLER, kind=PartyKind.B2B,
                                      fields=SELLER, now=now)
        cust = await parties.upsert(
            s, "c-acme", role=PartyRole.CUSTOMER, kind=PartyKind.B2B,
            fields={**ADDRESS, "denominazione": "Acme Spa", "id_paese": "IT",
                    "id_codice": "09876543210", "codice_destinatario": "ABC1234"}, now=now)
        inv = await invoices.create(s, invoices.NewInvoice(
            seller_id=seller.id, customer_id=cust.id, register="A", year=2026, number=12,
            numero="12", tipo_documento="TD01", data=date(2026, 3, 5), formato="FPR12",
            pa=False, total="244.00", description={}, lines=()), now=now)
        return inv.id


async def test_subscriber_gets_a_rejection_with_errors_and_lists_invoices(
    api: FakeBotApi, start_bot: Start, sessions: Sessions
) -> None:
    await start_bot(hooks())
    await api.push_text(OPERATOR, "/subscribe")
    await api.wait_for("sendMessage", where=lambda c: "Riceverai" in str(c.params.get("text")))
    await api.push_text(CUSTOMER, "/subscribe")
    await api.wait_for("sendMessage", where=lambda c: int(c.params["chat_id"]) == CUSTOMER)
    invoice_id = await _active_invoice(sessions)
    errors = [{"code": "00305", "description": "IdFiscaleIVA del CessionarioCommittente non "
               "valido", "suggestion": "partita IVA del cliente non valida: correggi"},
              {"code": "00400", "description": "Natura assente", "suggestion": "indica la Natura"}]
    now = utcnow()
    async with sessions() as s, s.begin():
        await invoice_tracking.add_event(
            s, invoice_id=invoice_id, dedupe_key="t:ns", source="sdi", kind="NS",
            from_state="pec-delivered", to_state="sdi-rejected", data={"errors": errors},
            detail="NS", occurred_at=now, now=now)
        await invoice_tracking.add_event(  # no state change: nobody hears of it
            s, invoice_id=invoice_id, dedupe_key="t:mc", source="sdi", kind="MC",
            occurred_at=now, now=now)
    (notice,) = await api.wait_for("sendMessage", where=lambda c: "📤" in
                                   str(c.params.get("text")))
    text = notice.params["text"]
    assert int(notice.params["chat_id"]) == OPERATOR
    assert "Fattura 12 del 05/03/2026 a Acme Spa" in text and "scartata da SdI" in text
    assert "• 00305 IdFiscaleIVA" in text and "→ partita IVA del cliente non valida" in text
    assert "• 00400 Natura assente" in text
    await asyncio.sleep(0.5)
    assert len([c for c in api.sent() if "📤" in str(c.params.get("text"))]) == 1
    await api.push_text(OPERATOR, "/invoices")
    (listing,) = await api.wait_for("sendMessage", where=lambda c: "Ultime" in
                                    str(c.params.get("text")))
    assert "12 del 05/03/2026 · Acme Spa · 244.00" in listing.params["text"]
    await api.push_text(OPERATOR, "/unsubscribe")
    await api.wait_for("sendMessage", where=lambda c: "disattivate" in str(c.params.get("text")))
