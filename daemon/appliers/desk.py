"""File support mail: open a ticket, or add the mail to the ticket it answers.

Threading, in order: the mail's In-Reply-To/References name a mail of a ticket (its opening
mail, a later reply, or our own question/solution, whose Message-IDs the desk fixed); else
the ``[#N]`` subject tag, but only from that ticket's own requester (a tag is guessable, a
Message-ID of ours is not); else a new ticket. A reply to a closed ticket opens a follow-up
that names it. Attachments go to the archive (content-addressed), the ticket keeps their hashes.
The same mail delivered twice is recognised by its Message-ID and adds nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from daemon.apply import ApplyContext, applier
from handlers.desk.mail import FileSupportMail
from handlers.work import Effect
from store import tickets
from store.tickets import NewTicket, Status


@applier(FileSupportMail)
async def file_support_mail(session: AsyncSession, effect: Effect, ctx: ApplyContext) -> bool:
    """See the module docstring."""
    assert isinstance(effect, FileSupportMail)
    mail = effect.mail
    # Without a Message-ID the inbox item stands in for it: a redelivery of the same bytes is
    # the same inbox item, so idempotency holds either way.
    message_id = mail.message_id or f"<inbox-{ctx.inbox_id}@pecora.desk>"
    attachments: list[dict[str, object]] = [
        {
            "filename": a.filename,
            "content_type": a.content_type,
            "size": len(a.data),
            "sha256": await ctx.archive.put(a.data),
        }
        for a in mail.attachments
    ]
    actor = f"mail:{mail.sender}"
    ticket_id = await tickets.thread_of(session, mail.refs)
    if ticket_id is None and mail.ticket_hint is not None:
        hinted = await tickets.get(session, mail.ticket_hint)
        if hinted is not None and (hinted.requester_email or "").lower() == mail.sender:
            ticket_id = hinted.id
    follow_up = ""
    if ticket_id is not None:
        ticket = await tickets.get(session, ticket_id)
        if ticket is not None and ticket.status != Status.CLOSED:
            await tickets.customer_message(
                session,
                ticket_id,
                actor=actor,
                body=mail.body,
                attachments=attachments,
                message_id=message_id,
                now=ctx.now,
            )
            return True
        follow_up = f"(seguito del ticket #{ticket_id}, chiuso)\n\n"
    await tickets.open_ticket(
        session,
        NewTicket(
            origin="email",
            subject=mail.subject,
            description=follow_up + mail.body,
            requester_email=mail.sender,
            requester_name=mail.sender_name,
            attachments=tuple(attachments),
            message_id=message_id,
        ),
        actor=actor,
        now=ctx.now,
    )
    return True
