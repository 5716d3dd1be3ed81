"""Sandbox mode with no channel configured: a campaign reaches every one of the five channels
through the sandbox's stand-ins (issue 8 §6), over real sockets, and nothing leaves loopback."""

from __future__ import annotations

import mailbox
from pathlib import Path

from sqlalchemy import select

from daemon.sandbox.messaging import MAIL_ALIAS, SandboxMessaging, stand_in_aliases
from store import campaigns
from store.archive import FilesystemArchive
from store.campaign_reports import counts
from store.clock import utcnow
from store.db import create_engine, session_factory
from store.models import OutboxItem
from store.models_messaging import CampaignState
from tests.daemon.messaging.helpers import member_row, seed
from tests.support.daemon import daemon_settings, running, wait_for
from tests.support.net import free_port

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
POSTAL = ("street", "cap", "city", "province")
CHANNELS = ("pec", "email", "sms", "fax", "registered-mail")
#: What each channel's one delivery ends as with the stand-ins.
FINAL = {"pec": "delivered", "email": "accepted", "sms": "delivered", "fax": "delivered",
         "registered-mail": "delivered"}


async def test_every_channel_works_with_no_configuration(tmp_path: Path) -> None:
    settings = daemon_settings(tmp_path, sandbox={"enabled": True, "smtp_port": free_port()},
                               campaigns={"poll_seconds": 0.05})
    assert settings.channels == {}
    engine = create_engine(settings.database_url())
    sessions = session_factory(engine)
    # One member per channel; the PEC one at a real-looking provider outside the sandbox.
    rows = [member_row(n) for n in range(5)]
    for n, row in enumerate(rows):
        for key in ("pec", "email", "mobile", "fax") + (() if n == 4 else POSTAL):
            row[key] = ""
    rows[0]["pec"] = "socio0@pec.ordine.example.it"
    rows[1]["email"] = "socio1@mail.example.it"
    rows[2]["mobile"] = "+39 333 1234567"
    rows[3]["fax"] = "06 1234567"
    try:
        async with running(settings):
            await seed(sessions, rows)
            ids = {}
            sha = await FilesystemArchive(settings.archive_dir).put(PDF)
            async with sessions() as s, s.begin():
                for ch in CHANNELS:
                    ids[ch] = await campaigns.create(s, campaigns.NewCampaign(
                        name=f"t-{ch}", subject="Avviso", body="Gentile {{ name }}",
                        channels=(ch,), segment={}, sender=settings.sandbox.user_address,
                        attachment_sha256=sha, attachment_name="avviso.pdf"), now=utcnow())
                    await campaigns.set_state(s, ids[ch], CampaignState.RUNNING, now=utcnow())

            async def finished() -> bool:
                async with sessions() as s:
                    got = {ch: (await counts(s, cid)).get(ch, {}) for ch, cid in ids.items()}
                return all(got[ch].get(FINAL[ch]) == 1 for ch in CHANNELS)

            await wait_for(finished, timeout=60, interval=0.2)
            async with sessions() as s:
                used = set(await s.scalars(select(OutboxItem.channel)))
    finally:
        await engine.dispose()
    sandbox = settings.daemon.data_dir / "sandbox"
    mail = list(mailbox.Maildir(sandbox / "mail", create=False))
    assert len(mail) == 1 and mail[0]["To"] == "socio1@mail.example.it"
    pec = list(mailbox.Maildir(sandbox / "pec-elsewhere", create=False))
    assert len(pec) == 1 and pec[0]["X-Trasporto"] == "posta-certificata"
    assert used == {"pec", MAIL_ALIAS, "sandbox-sms", "sandbox-fax", "sandbox-registered-mail"}


def test_configured_channels_get_no_stand_in(tmp_path: Path) -> None:
    settings = daemon_settings(
        tmp_path, sandbox={"enabled": True},
        channels={"mail": {"kind": "memory"}},
        campaigns={"webhook_port": 18089, "channels": {"pec": "pec"}})
    stand_ins = SandboxMessaging.create(settings)
    assert stand_ins.mail_dir is None and set(stand_ins.providers) == {
        "sandbox-sms", "sandbox-fax", "sandbox-registered-mail"}
    applied = stand_ins.apply(settings, "pec")
    assert set(applied.channels) == {"mail", "sandbox-sms", "sandbox-fax",
                                     "sandbox-registered-mail"}
    assert applied.campaigns.webhook_port == 18089  # configured: kept
    assert applied.campaigns.aliases(applied.channels) == {
        "pec": "pec", "email": "mail", "sms": "sandbox-sms", "fax": "sandbox-fax",
        "registered-mail": "sandbox-registered-mail"}
    # what the CLI's dry run plans with is what the daemon sends with
    assert {**stand_in_aliases(settings), **settings.campaigns.aliases(settings.channels)} == (
        applied.campaigns.aliases(applied.channels))
    secret = applied.channels["sandbox-sms"].webhook_secret
    assert secret is not None and secret.file is not None
    assert secret.file.stat().st_mode & 0o077 == 0  # only the daemon reads it
