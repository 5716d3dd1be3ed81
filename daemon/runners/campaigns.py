"""The campaign runner: fans running campaigns out into deliveries and follows their fate.

Each step is one transaction: read a page of the Albo after the campaign's cursor, decide per
member (segment, consent, opt-out, channel preference: handlers/messaging), render, and insert
the delivery rows with their outbox items and the new cursor together. A crash anywhere replays
at most the page in hand, and the shared idempotency keys make the replay add nothing. It never
sends: the outbox runner does (architecture convention 8). It then reads what happened (outbox
outcomes, PEC receipts), moves delivery states forward, trips the error breaker and creates the
fallback delivery when a channel fails for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.config_campaigns import CampaignSettings
from daemon.metrics import Metrics
from daemon.waiting import wait_any
from handlers.messaging import states
from handlers.messaging.choice import Reachability, Segment, choose
from handlers.messaging.payloads import Attachment, CannotSend, build
from handlers.messaging.templates import TemplateProblem, render
from store import albo, campaigns
from store.archive import Archive
from store.clock import utcnow
from store.models import OutboxState
from store.models_messaging import (
    AlboMember,
    Campaign,
    CampaignDelivery,
    CampaignState,
    DeliveryState,
)
from store.outbox import NewOutgoing

log = logging.getLogger(__name__)

_FOLLOW_BATCH = 1000  # outbox outcomes followed per transaction

# PEC receipt type (X-Ricevuta, domain.md §4.2) -> delivery state; None: evidence only.
PEC_RECEIPT_STATES: dict[str, str | None] = {
    "accettazione": states.ACCEPTED,
    "presa-in-carico": states.ACCEPTED,
    "avvenuta-consegna": states.DELIVERED,
    "non-accettazione": states.FAILED,
    "errore-consegna": states.FAILED,
    "preavviso-errore-consegna": None,
    "rilevazione-virus": states.FAILED,
}


def reachability(member: AlboMember) -> Reachability:
    """What the Albo row says about reaching the member, per campaign channel."""
    addresses = {
        "email": member.email or "",
        "pec": member.pec or "",
        "sms": member.mobile or "",
        "fax": member.fax or "",
        "registered-mail": "postal" if member.postal else "",
    }
    return Reachability(
        {k: v for k, v in addresses.items() if v},
        consent=dict(member.consent or {}),
        opted_out=frozenset(member.opted_out or ()),
    )


def fields_of(member: AlboMember, campaign: Campaign) -> dict[str, object]:
    """Template fields of a member (their own columns win over nothing, extra fields over none)."""
    return {
        **(member.fields or {}),
        "member_id": member.member_id,
        "name": member.name,
        "email": member.email,
        "pec": member.pec,
        "mobile": member.mobile,
        "fax": member.fax,
        "postal": member.postal or {},
        "campaign": campaign.name,
    }


def address_of(member: AlboMember, channel: str) -> str:
    """The address a channel sends to."""
    if channel == "registered-mail":
        postal = member.postal or {}
        return ", ".join(v for k, v in postal.items() if v and k != "country")
    return str({"sms": member.mobile, "fax": member.fax}.get(channel) or getattr(member, channel))


class Planner:
    """Decides each member's delivery for a campaign: the pure steps, plus the outbox alias."""

    def __init__(
        self,
        campaign: Campaign,
        aliases: Mapping[str, str],
        attachment: Attachment | None,
        unsubscribe: str | None = None,
    ) -> None:
        self.campaign = campaign
        self.aliases = aliases
        self.attachment = attachment
        self.segment = Segment.from_json(campaign.segment)
        self.unsubscribe = unsubscribe

    def plan(
        self, member: AlboMember, *, now: datetime, after: str | None = None
    ) -> campaigns.NewDelivery | None:
        """The delivery for ``member`` (after channel ``after`` failed); None: not in segment."""
        c = self.campaign
        fallback = after is not None  # planned again because the delivery on `after` failed
        if not fallback and not self.segment.matches(member.tags or ()):
            return None
        who = reachability(member)
        skipped: list[str] = []
        unsendable = False  # a channel was usable but its message could not be built
        while True:
            choice = choose(c.channels, who, after=after)
            skipped += choice.skipped
            channel = choice.channel
            if channel is None:
                if fallback:  # a fallback chain that ran out: the failed row stays
                    return None
                # Never drop a member silently: the row says why nothing was sent (failed
                # when a message could not be built, e.g. no sender address; suppressed when
                # there was no address or consent).
                why = "; ".join(skipped) or "no usable channel"
                state = DeliveryState.FAILED if unsendable else DeliveryState.SUPPRESSED
                return campaigns.NewDelivery(c.id, member.id, c.channels[0], None, None, state, why)
            alias = self.aliases.get(channel)
            try:
                if alias is None:
                    raise CannotSend(f"{channel}: no channel configured")
                rendered = render(c.subject, c.body, fields_of(member, c))
                key = campaigns.delivery_key(c.id, member.id, channel)
                built = build(
                    channel,
                    key=key,
                    address=address_of(member, channel),
                    rendered=rendered,
                    sender=c.sender,
                    attachment=self.attachment,
                    postal=member.postal,
                    now=now,
                    unsubscribe=self.unsubscribe,
                )
            except (CannotSend, TemplateProblem) as exc:
                skipped.append(str(exc))
                unsendable = True
                after = channel
                continue
            outgoing = NewOutgoing(
                channel=alias,
                payload=built.payload,
                recipients=built.recipients,
                idempotency_key=key,
                sender=c.sender if channel in ("email", "pec") else None,
                message_id=built.message_id,
                subject_ref=f"campaign:{c.id}",
                deliver_until=c.deliver_until,
            )
            detail = "; ".join(skipped) or None
            return campaigns.NewDelivery(
                c.id,
                member.id,
                channel,
                alias,
                built.recipients[0],
                DeliveryState.QUEUED,
                detail,
                outgoing,
            )


class CampaignRunner:
    """Fan-out and follow-up of every running campaign, one small transaction at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        archive: Archive,
        settings: CampaignSettings,
        aliases: Mapping[str, str],
        *,
        metrics: Metrics,
        outbox_wake: asyncio.Event | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        self._sessions = sessions
        self._archive = archive
        self._settings = settings
        self._aliases = dict(aliases)
        self._metrics = metrics
        self._outbox_wake = outbox_wake
        self.wake = wake or asyncio.Event()
        self._attachments: dict[str, Attachment] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop``; a step in hand is finished first."""
        while not stop.is_set():
            self._metrics.heartbeat("campaigns")
            try:
                followed, fanned = await self._step()
            except (OperationalError, DBAPIError) as exc:
                log.error("store unavailable, campaigns paused: %s", exc)
                followed, fanned = 0, False
            if fanned or followed >= _FOLLOW_BATCH:
                continue  # more is waiting
            # Little or nothing moved, or the outbox has a page queued already: wait a poll
            # period. Outcomes gather, so that one follow-up carries many deliveries, and the
            # outbox gets the store between two pages (on SQLite, back-to-back fan-out
            # transactions would keep its claims waiting until the whole campaign is planned).
            self.wake.clear()
            await wait_any(self.wake, stop, timeout=self._settings.poll_seconds)

    async def step(self) -> bool:
        """Follow outcomes, then fan out one page per running campaign; True if work was done."""
        followed, fanned = await self._step()
        return followed > 0 or fanned

    async def _step(self) -> tuple[int, bool]:
        """`step`: how many deliveries moved (outbox outcomes and PEC receipts), and whether
        a page was fanned out for a campaign whose outbox is about to run dry."""
        followed = await self._follow_outbox()
        followed += await self._follow_pec()
        async with self._sessions() as session:
            running = await campaigns.running(session)
        hungry = False
        for campaign in running:
            planned, queued = await self._fan_out(campaign.id)
            hungry = hungry or (planned and queued < self._settings.page_size)
        return followed, hungry

    async def drain(self) -> None:
        """Step until nothing is left to do (tests and `pecora campaign send --wait`)."""
        while await self.step():
            pass

    async def _attachment(self, campaign: Campaign) -> Attachment | None:
        sha = campaign.attachment_sha256
        if sha is None:
            return None
        if sha not in self._attachments:
            data = await self._archive.get(sha)
            self._attachments[sha] = Attachment(campaign.attachment_name or "documento.pdf", data)
        return self._attachments[sha]

    async def planner(self, campaign: Campaign) -> Planner:
        """The planner of ``campaign`` (preview and dry run use it too)."""
        return Planner(
            campaign, self._aliases, await self._attachment(campaign), self._settings.unsubscribe
        )

    async def fan_out(self, campaign_id: int) -> bool:
        """Plan one page of members; return True if there was anything to do."""
        return (await self._fan_out(campaign_id))[0]

    async def _fan_out(self, campaign_id: int) -> tuple[bool, int]:
        """`fan_out`, and how many of the campaign's deliveries were open before the page."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            campaign = await campaigns.get(session, campaign_id)
            if campaign is None or campaign.state is not CampaignState.RUNNING:
                return False, 0
            queued = await campaigns.open_count(session, campaign.id)
            if campaign.fanned_out:
                if queued == 0:
                    await campaigns.set_state(session, campaign.id, CampaignState.DONE, now=now)
                    log.info("campaign %s done", campaign.name)
                return False, queued
            if queued >= self._settings.max_open:
                return False, queued  # keep the outbox lean (Postal #624): let sends drain
            members = await albo.page(
                session, after=campaign.cursor, limit=self._settings.page_size
            )
            planner = await self.planner(campaign)
            planned = [planner.plan(m, now=now) for m in members]
            rows = [p for p in planned if p is not None]
            await campaigns.add_deliveries(session, rows, now=now)
            cursor = members[-1].id if members else campaign.cursor
            done = len(members) < self._settings.page_size
            await campaigns.set_cursor(session, campaign.id, cursor, done=done, now=now)
        if rows:
            self._metrics.count("campaign_planned", len(rows))
            if self._outbox_wake is not None:
                self._outbox_wake.set()
        return bool(members), queued

    async def _follow_outbox(self) -> int:
        """Record what the outbox did with each delivery: a few statements per batch (one
        INSERT of events, one UPDATE each of attempts and states), not per delivery."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            rows = await campaigns.outbox_outcomes(session, limit=_FOLLOW_BATCH)
            reports, synced = [], []
            for o in rows:
                if o.outbox_state is OutboxState.SENT:
                    # Plain e-mail has no later evidence: the relay's 250 is all we get.
                    status = states.ACCEPTED if o.channel == "email" else states.SUBMITTED
                elif o.outbox_state is OutboxState.RETRY:
                    status = states.FAILED_TEMPORARY
                else:
                    status = states.FAILED
                retry_at = o.next_attempt_at if status == states.FAILED_TEMPORARY else None
                synced.append((o.delivery_id, o.attempts, retry_at))
                reports.append(
                    campaigns.Report(
                        o.delivery_id,
                        o.state,
                        status,
                        source="outbox",
                        dedupe_key=f"outbox:{o.outbox_id}:{o.attempts}:{o.outbox_state.value}",
                        occurred_at=o.updated_at,
                        detail=o.last_error if status != states.ACCEPTED else None,
                        provider_ref=o.provider_ref,
                    )
                )
            await campaigns.sync_attempts(session, synced)
            news = await campaigns.record_events(session, reports, now=now, advance=states.advance)
            breaker: dict[int, list[bool]] = defaultdict(list)
            failed: list[int] = []
            for o, r, new in zip(rows, reports, news, strict=True):
                if o.last_error != "cancelled":
                    breaker[o.campaign_id].append(
                        r.status != states.FAILED_TEMPORARY and new != states.FAILED
                    )
                if new == states.FAILED:
                    failed.append(o.delivery_id)
            for campaign_id, outcomes in breaker.items():
                tripped = await campaigns.note_outcomes(session, campaign_id, outcomes, now=now)
                if tripped is not None:
                    await self._alert(session, tripped, now)
            await self.fallback(session, await campaigns.deliveries_by_id(session, failed), now)
        return len(rows)

    async def _follow_pec(self) -> int:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            rows = await campaigns.unseen_pec_receipts(session)
            failed = []
            for d, r in rows:
                status = PEC_RECEIPT_STATES.get(r.receipt_type) or "notice"
                new = await campaigns.record_event(
                    session,
                    d,
                    status,
                    source="pec",
                    dedupe_key=f"pec:{r.id}",
                    occurred_at=r.received_at,
                    now=now,
                    advance=states.advance,
                    detail=r.error or r.receipt_type,
                    pec_receipt_id=r.id,
                )
                if new == states.FAILED:
                    failed.append(d)
            await self.fallback(session, failed, now)
        return len(rows)

    async def fallback(
        self, session: AsyncSession, failed: list[CampaignDelivery], now: datetime
    ) -> None:
        """Give members whose channel failed for good the next channel of the preference."""
        if not failed:
            return
        members = await albo.by_ids(session, [d.member_pk for d in failed])
        rows, paused = [], set()
        for d in failed:
            campaign = await campaigns.get(session, d.campaign_id)
            if campaign is None or campaign.state is CampaignState.CANCELLED:
                continue
            planned = (await self.planner(campaign)).plan(
                members[d.member_pk], now=now, after=d.channel
            )
            if planned is not None:
                rows.append(planned)
                if campaign.state is CampaignState.PAUSED:
                    paused.add(campaign.id)
        await campaigns.add_deliveries(session, rows, now=now)
        for campaign_id in paused:  # a fallback born during a pause waits for the resume
            await campaigns.set_state(session, campaign_id, CampaignState.PAUSED, now=now)
        if rows:
            self._metrics.count("campaign_fallbacks", len(rows))

    async def _alert(self, session: AsyncSession, campaign: Campaign, now: datetime) -> None:
        reason = campaign.paused_reason or "paused"
        log.error("campaign %s (%d) %s", campaign.name, campaign.id, reason)
        s = self._settings
        if not (s.alert_channel and s.alert_sender and s.alert_to):
            return
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"], msg["To"] = s.alert_sender, ", ".join(s.alert_to)
        msg["Subject"] = f"pecora: campaign {campaign.name} paused"
        key = f"alert:campaign:{campaign.id}:{now.isoformat()}"
        msg["Message-ID"] = f"<{key.replace(':', '.')}@{s.alert_sender.rsplit('@', 1)[-1]}>"
        msg.set_content(f"Campaign {campaign.name} (id {campaign.id}): {reason}.\n")
        from store import outbox

        await outbox.enqueue(
            session,
            NewOutgoing(
                channel=s.alert_channel,
                payload=msg.as_bytes(),
                recipients=tuple(s.alert_to),
                idempotency_key=key,
                sender=s.alert_sender,
                message_id=msg["Message-ID"],
                subject_ref=f"campaign:{campaign.id}",
            ),
            now=now,
        )
