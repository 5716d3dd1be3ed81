"""Passive invoicing use-cases for people (CLI, chat bot): list, show, accept, refuse.

`accept` and `refuse` are the single place that checks who decides (``actor``, against the
configured deciders) and whether a decision is still possible, and they keep every decision as
an audit record. For a file configured as PA (``ec_required``) a decision sends an EC to the
``sdiNN`` address that delivered the invoice, through the outbox, unless SdI's DT already closed
the 15-day window: then the decision is recorded internally and the result says why no EC went
(domain.md §3.3). A B2B refusal may reply to the supplier (SdI has no B2B refusal).

The EC and reply payloads are built by a `Mailer` the caller hands in (handlers/passive/ec_mail
`DecisionMailer`): the store may not import handlers. Session first, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import counters, outbox
from store.models_passive import (
    EsitoState,
    InvoiceParty,
    PassiveDecision,
    PassiveEsito,
    ReceivedFile,
    ReceivedInvoice,
    ReviewState,
)
from store.passive_queries import detail, listing, reminders_due  # noqa: F401  (re-exported)

#: SdI's limit on an EC's Descrizione (domain.md §3.2).
MAX_REASON = 255


class DecisionError(Exception):
    """A decision that cannot be taken; the message tells the user why."""


class NotFound(DecisionError):
    """No received invoice with that id."""


class NotAuthorised(DecisionError):
    """The actor may not decide on received invoices."""


class AlreadyDecided(DecisionError):
    """The invoice already has a decision in force."""


class BadReason(DecisionError):
    """A refusal without a reason, or a reason longer than SdI accepts."""


class Mailer(Protocol):
    """Builds the payloads a decision sends (see handlers/passive/ec_mail.py)."""

    def esito(
        self, *, sender: str, sdi_address: str, invoice_file_name: str,
        identificativo_sdi: str, counter: int, esito: str, descrizione: str | None,
        message_id_committente: str, riferimento: tuple[str, int, int] | None, when: datetime,
    ) -> tuple[bytes, str, str]:
        """Return (payload, Message-ID, EC file name)."""
        ...

    def reply(
        self, *, sender: str, to: str, fields: dict[str, str], key: str, when: datetime
    ) -> tuple[bytes, str]:
        """Return (payload, Message-ID)."""
        ...


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    """Who may decide and where decisions' mail goes (built from ``[passive]``)."""

    mailer: Mailer
    deciders: frozenset[str] | None = None  # None: any identified actor
    ec_channel: str = "pec"
    reply_channel: str | None = None  # None: B2B refusals send no reply to the supplier
    reply_sender: str | None = None  # default: the PEC address the invoice reached


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What a decision did, in words for the user too."""

    invoice_id: int
    state: ReviewState
    decision_id: int
    ec_outbox_id: int | None
    ec_file_name: str | None
    reply_outbox_id: int | None
    message: str


def _check_actor(actor: str, policy: DecisionPolicy) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise NotAuthorised("a decision needs the id of the person taking it")
    if policy.deciders is not None and actor not in policy.deciders:
        raise NotAuthorised(f"{actor} is not among the people allowed to decide on invoices")
    return actor


async def _check_open(session: AsyncSession, inv: ReceivedInvoice) -> None:
    if inv.state is ReviewState.TO_REVIEW:
        return
    last = (await session.execute(select(PassiveEsito).where(PassiveEsito.invoice_id == inv.id)
                                  .order_by(PassiveEsito.id.desc()))).scalar()
    if last is not None and last.state is EsitoState.REJECTED:
        return  # SdI refused our EC (SE): the decision may be taken again (after DT: no EC)
    when = inv.decided_at.date().isoformat() if inv.decided_at else "?"
    raise AlreadyDecided(f"invoice #{inv.id} was already {inv.state.value} on {when}")


async def _seller_email(session: AsyncSession, invoice_id: int) -> str | None:
    return (await session.execute(select(InvoiceParty.email).where(
        (InvoiceParty.invoice_id == invoice_id) & (InvoiceParty.role == "seller")))).scalar()


async def _send_ec(
    session: AsyncSession, inv: ReceivedInvoice, file: ReceivedFile, decision: PassiveDecision,
    policy: DecisionPolicy, now: datetime,
) -> tuple[int | None, str | None, str]:
    """Enqueue the EC; return (outbox id, EC file name, what to tell the user)."""
    dt_at = inv.dt_at or file.dt_at
    if dt_at is not None:
        return None, None, (
            f"no EC sent: SdI's DT of {dt_at.date().isoformat()} closed the 15-day window "
            "(no EC is accepted after it); the decision is recorded internally only")
    if not (file.identificativo_sdi and file.sdi_address and file.our_address):
        return None, None, ("no EC sent: the delivery lacks the IdentificativoSdI or the "
                            "addresses to answer from/to; the decision is recorded internally")
    counter = await counters.allocate(session, f"passive-ec:{file.id}")
    mid_committente = f"P{decision.id}"[:14]
    lot = (await session.execute(select(ReceivedInvoice.id).where(
        ReceivedInvoice.file_id == file.id))).scalars().all()
    riferimento = (inv.numero, inv.anno, inv.position) if len(lot) > 1 else None
    esito = "EC01" if decision.decision is ReviewState.ACCEPTED else "EC02"
    payload, mid, name = policy.mailer.esito(
        sender=file.our_address, sdi_address=file.sdi_address,
        invoice_file_name=file.file_name, identificativo_sdi=file.identificativo_sdi,
        counter=counter, esito=esito, descrizione=decision.reason,
        message_id_committente=mid_committente, riferimento=riferimento, when=now)
    outbox_id = await outbox.enqueue(session, outbox.NewOutgoing(
        channel=policy.ec_channel, payload=payload, recipients=(file.sdi_address,),
        idempotency_key=f"passive-ec:{decision.id}", message_id=mid,
        subject_ref=f"passive-invoice:{inv.id}"), now=now)
    session.add(PassiveEsito(invoice_id=inv.id, decision_id=decision.id, file_name=name,
                             esito=esito, message_id_committente=mid_committente,
                             outbox_id=outbox_id, created_at=now))
    said = f"{esito} {name} queued to {file.sdi_address}"
    if file.deadline is not None and now > file.deadline:
        said += (f" after the deadline of {file.deadline.date().isoformat()}: SdI will "
                 "probably refuse it (SE EN01)")
    return outbox_id, name, said


async def _reply(
    session: AsyncSession, inv: ReceivedInvoice, file: ReceivedFile, decision: PassiveDecision,
    policy: DecisionPolicy, now: datetime,
) -> tuple[int | None, str]:
    if policy.reply_channel is None:
        return None, "no reply to the supplier (not configured)"
    to = await _seller_email(session, inv.id)
    sender = policy.reply_sender or file.our_address
    if not to or not sender:
        return None, "no reply to the supplier: the invoice gives no e-mail address for it"
    fields = {"seller": inv.seller_name, "numero": inv.numero, "data": inv.data.isoformat(),
              "file_name": file.file_name, "identificativo": file.identificativo_sdi or "-",
              "reason": decision.reason or ""}
    payload, mid = policy.mailer.reply(sender=sender, to=to, fields=fields,
                                       key=f"passive-reply:{decision.id}", when=now)
    outbox_id = await outbox.enqueue(session, outbox.NewOutgoing(
        channel=policy.reply_channel, payload=payload, recipients=(to,),
        idempotency_key=f"passive-reply:{decision.id}", message_id=mid,
        subject_ref=f"passive-invoice:{inv.id}"), now=now)
    decision.reply_outbox_id = outbox_id
    return outbox_id, f"reply queued to the supplier at {to}"


async def _decide(
    session: AsyncSession, invoice_id: int, state: ReviewState, *, actor: str,
    reason: str | None, now: datetime, policy: DecisionPolicy, reply: bool,
) -> DecisionResult:
    who = _check_actor(actor, policy)
    reason = (reason or "").strip() or None
    if state is ReviewState.REFUSED and reason is None:
        raise BadReason("a refusal needs a reason (it is sent to SdI as the EC Descrizione)")
    if reason is not None and len(reason) > MAX_REASON:
        raise BadReason(f"the reason is {len(reason)} characters; SdI accepts {MAX_REASON}")
    inv = await session.get(ReceivedInvoice, invoice_id)
    if inv is None:
        raise NotFound(f"no received invoice #{invoice_id}")
    await _check_open(session, inv)
    file = await session.get(ReceivedFile, inv.file_id)
    assert file is not None
    decision = PassiveDecision(invoice_id=inv.id, decision=state, actor=who, reason=reason,
                               at=now)
    session.add(decision)
    await session.flush()
    inv.state, inv.decided_at = state, now
    ec_id = reply_id = None
    ec_name = None
    if file.ec_required:
        ec_id, ec_name, said = await _send_ec(session, inv, file, decision, policy, now)
    elif state is ReviewState.REFUSED and reply:
        reply_id, said = await _reply(session, inv, file, decision, policy, now)
        said = "B2B: refusal recorded internally (SdI has no B2B refusal); " + said
    else:
        said = f"B2B: {state.value} internally (SdI has no acceptance or refusal in B2B)"
    decision.note = said
    await session.flush()
    return DecisionResult(inv.id, state, decision.id, ec_id, ec_name, reply_id, said)


async def accept(
    session: AsyncSession, invoice_id: int, *, actor: str, now: datetime,
    policy: DecisionPolicy, reason: str | None = None,
) -> DecisionResult:
    """Accept a received invoice (EC01 for a PA file); raise a `DecisionError` saying why not."""
    return await _decide(session, invoice_id, ReviewState.ACCEPTED, actor=actor,
                         reason=reason, now=now, policy=policy, reply=False)


async def refuse(
    session: AsyncSession, invoice_id: int, *, actor: str, reason: str, now: datetime,
    policy: DecisionPolicy, reply_to_supplier: bool = True,
) -> DecisionResult:
    """Refuse a received invoice with a reason (EC02 for a PA file, else maybe a reply)."""
    return await _decide(session, invoice_id, ReviewState.REFUSED, actor=actor,
                         reason=reason, now=now, policy=policy, reply=reply_to_supplier)
