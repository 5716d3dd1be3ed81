"""Durable ingestion: archive the raw bytes, insert the inbox row, commit, then wake the runner.

Every ingress adapter (LMTP, SMTP, IMAP) calls this and acknowledges upstream only after it
returns: the raw message is on disk (fsynced) and its inbox row is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.metrics import Metrics
from store import inbox, mailboxes
from store.archive import Archive, ArchiveError, put_all
from store.clock import utcnow
from store.db import StoreUnavailable


@dataclass(frozen=True, slots=True)
class ImapMessage:
    """One message fetched from an IMAP mailbox, with its UID."""

    uid: int
    raw: bytes


class Ingestor:
    """Turns received bytes into committed inbox items."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        archive: Archive,
        wake: asyncio.Event,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._archive = archive
        self._wake = wake
        self._metrics = metrics
        self.received = 0  # messages committed by this process

    async def ingest(
        self,
        raw: bytes,
        *,
        source: str,
        envelope_from: str | None = None,
        recipients: Sequence[str] = (),
    ) -> inbox.Put:
        """Store one message from LMTP/SMTP; raise `StoreUnavailable` if it could not be."""
        try:
            sha = await self._archive.put(raw)
            async with self._sessions() as session, session.begin():
                put = await inbox.put(
                    session,
                    inbox.Received(
                        source=source,
                        sha256=sha,
                        size=len(raw),
                        envelope_from=envelope_from,
                        recipients=tuple(recipients),
                    ),
                    now=utcnow(),
                )
        except (OperationalError, DBAPIError, ArchiveError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        self._committed(source, 1 if put.created else 0)
        return put

    async def ingest_imap(
        self, mailbox: str, uidvalidity: int, messages: Sequence[ImapMessage]
    ) -> list[inbox.Put]:
        """Store a batch fetched from ``mailbox`` and advance its position, in one transaction."""
        if not messages:
            return []
        try:
            # All at once: on the filesystem, one pair of durability barriers for the batch.
            shas = await put_all(self._archive, [m.raw for m in messages])
            now = utcnow()
            async with self._sessions() as session, session.begin():
                puts = [
                    await inbox.put(
                        session,
                        inbox.Received(
                            source="imap",
                            sha256=sha,
                            size=len(m.raw),
                            mailbox=mailbox,
                            uidvalidity=uidvalidity,
                            uid=m.uid,
                        ),
                        now=now,
                    )
                    for m, sha in zip(messages, shas, strict=True)
                ]
                await mailboxes.advance(
                    session,
                    mailbox,
                    uidvalidity=uidvalidity,
                    last_uid=max(m.uid for m in messages),
                    now=now,
                )
        except (OperationalError, DBAPIError, ArchiveError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        self._committed("imap", sum(p.created for p in puts))
        return puts

    def _committed(self, source: str, created: int) -> None:
        self.received += created
        if created:
            if self._metrics is not None:
                self._metrics.count("received", created, source=source)
            self._wake.set()
