"""SMS, fax and registered mail over HTTP to the fake providers on loopback: 429/5xx answers,
late, duplicated and reversed reports over signed webhooks, polling when reports are lost,
fallback after a final failure, and the runner's rate limit (both backends)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.fakes.base import FakeProvider
from channels.fakes.providers import FakeFax, FakeRegisteredMail, FakeSms
from channels.fax import FaxChannel
from channels.http_provider import sign
from channels.memory import MemoryChannel
from channels.registered_mail import RegisteredMailChannel
from channels.sms import SmsChannel
from daemon.config import RateLimit
from daemon.config_campaigns import CampaignSettings
from daemon.messaging_reports import ReportPoller, ReportReceiver
from daemon.runners.campaigns import CampaignRunner
from daemon.runners.outbox import OutboxRunner
from store.archive import FilesystemArchive
from store.campaign_reports import counts
from tests.daemon.messaging.helpers import member_row, new_campaign, runners, seed
from tests.support.daemon import wait_for

SECRET = "whsec-test"
ALIASES = {"sms": "sms", "fax": "fax", "registered-mail": "rol", "email": "mail"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    camp: CampaignRunner
    outbox: OutboxRunner
    receiver: ReportReceiver
    fakes: dict[str, FakeProvider]
    mail: MemoryChannel
    stop: asyncio.Event


@contextlib.asynccontextmanager
async def world(
    sessions: async_sessionmaker[AsyncSession],
    archive: FilesystemArchive,
    *,
    rate: RateLimit | None = None,
) -> AsyncIterator[World]:
    fakes: dict[str, FakeProvider] = {
        "sms": FakeSms(webhook_secret=SECRET, api_key="k"),
        "fax": FakeFax(webhook_secret=SECRET, api_key="k"),
        "rol": FakeRegisteredMail(webhook_secret=SECRET, api_key="k"),
    }
    async with contextlib.AsyncExitStack() as stack:
        urls = {a: await stack.enter_async_context(f.running()) for a, f in fakes.items()}
        classes = {"sms": SmsChannel, "fax": FaxChannel, "rol": RegisteredMailChannel}
        http = {a: classes[a](a, base_url=urls[a], api_key="k", rate=rate) for a in fakes}
        mail = MemoryChannel("mail")
        camp, outbox = runners(
            sessions,
            archive,
            {**http, "mail": mail},
            ALIASES,
            settings=CampaignSettings(page_size=50, poll_seconds=0.02),
        )
        receiver = ReportReceiver(sessions, http, {a: SECRET for a in http}, camp, port=0)
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(receiver.run(stop))
            await receiver.started.wait()
            for alias, fake in fakes.items():
                fake.callback_url = f"http://127.0.0.1:{receiver.port}/webhooks/{alias}"
            tg.create_task(camp.run(stop))
            tg.create_task(outbox.run(stop))
            try:
                yield World(camp, outbox, receiver, fakes, mail, stop)
            finally:
                stop.set()


async def _pdf_campaign(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive, channels: list[str]
) -> int:
    sha = await archive.put(PDF)
    return await new_campaign(
        sessions, channels, attachment_sha256=sha, attachment_name="avviso.pdf"
    )


async def _settled(
    sessions: async_sessionmaker[AsyncSession], cid: int, want: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    async def check() -> dict[str, dict[str, int]] | None:
        async with sessions() as s:
            got = await counts(s, cid)
        return got if got == want else None

    try:
        return await wait_for(check, timeout=20)
    except TimeoutError:
        async with sessions() as s:
            raise AssertionError(f"counts {await counts(s, cid)} != {want}") from None


async def test_three_providers_with_faults_and_messy_reports(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    n = 12
    await seed(sessions, [member_row(i) for i in range(n)])
    async with world(sessions, archive) as w:
        for fake in w.fakes.values():
            fake.faults.replies.extend([429, 500, 503])
            fake.faults.retry_after = 0.1
            fake.faults.duplicate_reports = True
            fake.faults.reverse_reports = True
            fake.faults.report_delay = 0.2
        cids = [
            await _pdf_campaign(sessions, archive, [ch]) for ch in ("sms", "fax", "registered-mail")
        ]
        for cid, ch in zip(cids, ("sms", "fax", "registered-mail"), strict=True):
            await _settled(sessions, cid, {ch: {"delivered": n}})
        for alias, fake in w.fakes.items():
            assert fake.accepted == n, alias  # one submission per recipient ...
            assert fake.duplicates() == {}, alias  # ... and none submitted twice
        assert w.fakes["rol"].confirmed == n  # type: ignore[attr-defined]


async def test_lost_reports_are_polled(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(i) for i in range(5)])
    async with world(sessions, archive) as w:
        for fake in w.fakes.values():
            fake.faults.drop_reports = True
        cid = await _pdf_campaign(sessions, archive, ["registered-mail"])
        await _settled(sessions, cid, {"registered-mail": {"submitted": 5}})
        http = {a: w.receiver._channels[a] for a in ("sms", "fax", "rol")}
        poller = ReportPoller(sessions, http, w.camp, quiet_after=0.0, every=0.05)
        assert await poller.poll_once() == 5
        await _settled(sessions, cid, {"registered-mail": {"delivered": 5}})


async def test_final_failure_falls_back_and_bad_signatures_are_refused(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(i) for i in range(4)])
    async with world(sessions, archive) as w:
        w.fakes["sms"].faults.fate = lambda doc: (
            "failed" if doc["to"].endswith("1") else "delivered"
        )
        cid = await _pdf_campaign(sessions, archive, ["sms", "email"])
        await _settled(
            sessions, cid, {"sms": {"delivered": 3, "failed": 1}, "email": {"accepted": 1}}
        )
        assert [o.recipients for o in w.mail.sent] == [("socio1@mail.test",)]
        url = f"http://127.0.0.1:{w.receiver.port}/webhooks/sms"
        body = b'{"id": "sms-000001", "status": "failed", "timestamp": "x"}'
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url, data=body, headers={"X-Pecora-Signature": sign("wrong", body)}
            ) as r:
                assert r.status == 401
            old = sign(SECRET, body, now=time.time() - 3600)
            async with http.post(url, data=body, headers={"X-Pecora-Signature": old}) as r:
                assert r.status == 401  # a replayed old report
            async with http.post(
                url, data=body, headers={"X-Pecora-Signature": sign(SECRET, body)}
            ) as r:
                assert r.status == 200  # authentic, but delivered stays delivered
        await asyncio.sleep(0.1)
        async with w.camp._sessions() as s:
            assert (await counts(s, cid))["sms"] == {"delivered": 3, "failed": 1}


async def test_rate_limit_spaces_submissions(
    sessions: async_sessionmaker[AsyncSession], archive: FilesystemArchive
) -> None:
    await seed(sessions, [member_row(i) for i in range(10)])
    rate = RateLimit(per_second=20, burst=1, max_concurrency=4)
    async with world(sessions, archive, rate=rate) as w:
        t0 = time.monotonic()
        cid = await _pdf_campaign(sessions, archive, ["sms"])
        await _settled(sessions, cid, {"sms": {"delivered": 10}})
        elapsed = time.monotonic() - t0
        assert w.fakes["sms"].accepted == 10
    assert elapsed >= 9 / 20 * 0.9, elapsed  # 1 at once, then 20/s
