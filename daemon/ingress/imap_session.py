"""One IMAP connection, as plain Python values: the protocol wrapper the IMAP watcher drives.

aioimaplib speaks the protocol; this module hides its sharp edges from the watcher:

- a dropped connection does not fail the command in flight (aioimaplib only calls
  ``conn_lost_cb``), so every command here races a "connection lost" event and a timeout;
- several commands (UID STORE/MOVE/COPY/EXPUNGE) have no timeout of their own;
- responses are ``Response(result, lines)`` where the last line is the tagged completion text,
  untagged lines lost their ``* `` prefix, and a FETCH literal is a ``bytearray`` line;
- STARTTLS is listed but not implemented, so it is done here with ``loop.start_tls``.

Any failure leaves the connection in an unknown state, so every error is an `ImapError` and the
caller drops the session (`abort`) and reconnects; nothing here retries.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

from daemon.config import MailboxSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS$")
_FETCH_START = re.compile(rb"^(\d+) FETCH \(")
_UID_ITEM = re.compile(rb"\bUID (\d+)\b")
# BODY[] (optionally with a partial origin "<0>") announcing a literal at the end of the line
_BODY_LITERAL = re.compile(rb"BODY\[\](?:<\d+>)? \{\d+\}$")
_BODY_NIL = re.compile(rb"BODY\[\](?:<\d+>)? NIL")
_BODY_QUOTED = re.compile(rb'BODY\[\](?:<\d+>)? "((?:[^"\\]|\\.)*)"')


class ImapError(Exception):
    """The server refused a command, answered nonsense, timed out or went away."""


class ConnectionLost(ImapError):
    """The connection closed (server restart, BYE, network failure)."""


@dataclass(frozen=True, slots=True)
class Selected:
    """What SELECT told us about the mailbox."""

    uidvalidity: int
    exists: int
    uidnext: int | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """Result of `ImapSession.fetch`: bodies by UID, and whether the server said NO."""

    bodies: dict[int, bytes]
    refused: bool


def uid_set(uids: Iterable[int]) -> str:
    """Format UIDs as a compact IMAP sequence set: ``[1, 2, 3, 7]`` -> ``"1:3,7"``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev > start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev > start else str(start))
    return ",".join(parts)


def parse_search(lines: Sequence[Any]) -> list[int]:
    """Return the numbers of a (UID) SEARCH response.

    The last line is the tagged completion text ("Search completed (0.001 secs)"), whose numbers
    are not results; untagged ``SEARCH`` lines arrive with the keyword already stripped.
    """
    found: list[int] = []
    for line in lines[:-1]:
        if not isinstance(line, bytes | bytearray):
            continue
        words = bytes(line).split()
        if words and words[0].upper() == b"SEARCH":  # unsolicited or un-stripped form
            words = words[1:]
        found.extend(int(w) for w in words if w.isdigit())
    return found


def parse_fetch(lines: Sequence[Any]) -> dict[int, bytes]:
    """Map UID -> body bytes from the lines of a ``UID FETCH (UID BODY.PEEK[])`` response.

    Tolerant by design: an item may carry UID before or after the literal, unsolicited FETCH
    items (flag changes from other sessions) have no body and are skipped, ``BODY[] NIL`` gives
    empty bytes and a quoted body is unquoted. Whatever bytes the server sent are returned: the
    inbox runner, not the ingress, decides whether a message makes sense.
    """
    bodies: dict[int, bytes] = {}
    items: list[tuple[list[bytes], bytes | None]] = []
    text: list[bytes] | None = None
    body: bytes | None = None
    for line in lines[:-1]:  # the last line is the tagged completion text
        if isinstance(line, bytearray):
            if text is not None and text and _BODY_LITERAL.search(text[-1]):
                body = bytes(line)
            continue
        if _FETCH_START.match(line):
            if text is not None:
                items.append((text, body))
            text, body = [line], None
        elif text is not None:
            text.append(line)
    if text is not None:
        items.append((text, body))
    for parts, item_body in items:
        joined = b" ".join(parts)
        uid_match = _UID_ITEM.search(joined)
        if uid_match is None:
            continue
        if item_body is None:
            if _BODY_NIL.search(joined):
                item_body = b""
            elif quoted := _BODY_QUOTED.search(joined):
                item_body = re.sub(rb"\\(.)", rb"\1", quoted.group(1))
            else:
                continue  # a FLAGS-only item, not the body we asked for
        bodies[int(uid_match.group(1))] = item_body
    return bodies


def tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    """Return the TLS context for a mailbox: verification on unless the config turns it off."""
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapSession:
    """A logged-in IMAP connection; build it with `ImapSession.open`."""

    def __init__(
        self, client: aioimaplib.IMAP4, lost: asyncio.Event, timeout: float, ignore: frozenset[str]
    ) -> None:
        self._client = client
        self._lost = lost
        self._timeout = timeout
        self._ignore = ignore
        self.capabilities: frozenset[str] = frozenset()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        settings: MailboxSettings,
        password: str,
        *,
        ignore_capabilities: frozenset[str] = frozenset(),
    ) -> ImapSession:
        """Connect, secure (TLS or STARTTLS), log in and read the capabilities.

        ``ignore_capabilities`` hides server capabilities (e.g. ``{"IDLE"}``) so tests and
        operators can force the fallbacks (polling, COPY+EXPUNGE) on a server that has them.
        """
        lost = asyncio.Event()

        def on_lost(_exc: Exception | None) -> None:
            lost.set()

        ctx = tls_context(settings) if settings.security != "plain" else None
        client = aioimaplib.IMAP4(
            settings.host,
            settings.port,
            timeout=settings.connect_timeout,
            conn_lost_cb=on_lost,
            ssl_context=ctx if settings.security == "tls" else None,
        )
        session = cls(client, lost, settings.connect_timeout, frozenset(ignore_capabilities))
        try:
            await session._guard(client.wait_hello_from_server(), what="greeting")
            if settings.security == "starttls":
                assert ctx is not None
                await session._starttls(ctx, settings.host)
            response = await session._guard(client.login(settings.username, password), what="LOGIN")
            if response.result != "OK":
                raise ImapError(f"LOGIN refused for {settings.username}: {_text(response)}")
            # The greeting's capabilities lack the post-login ones (MOVE, UIDPLUS): ask again.
            await session._guard(client.protocol.capability(), what="CAPABILITY")
            session.capabilities = frozenset(client.protocol.capabilities) - session._ignore
        except BaseException:
            session.abort()
            raise
        return session

    async def _starttls(self, ctx: ssl.SSLContext, host: str) -> None:
        if "STARTTLS" not in self._client.protocol.capabilities:
            raise ImapError("server does not offer STARTTLS (security = starttls)")
        protocol = self._client.protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await self._guard(protocol.execute(command), what="STARTTLS")
        if response.result != "OK":
            raise ImapError(f"STARTTLS refused: {_text(response)}")
        loop = asyncio.get_running_loop()
        transport = await self._guard(
            loop.start_tls(protocol.transport, protocol, ctx, server_hostname=host),
            what="TLS handshake",
        )
        protocol.transport = transport
        # RFC 3501 6.2.1: capabilities learnt before STARTTLS must be discarded.
        await self._guard(protocol.capability(), what="CAPABILITY")

    def abort(self) -> None:
        """Drop the connection without a goodbye (after an error, or when cancelled)."""
        if not self._client._client_task.done():  # still connecting
            self._client._client_task.cancel()
        transport = self._client.protocol.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
        for task in list(self._client.tasks) + list(self._client.protocol.tasks):
            task.cancel()
        if self._client._idle_waiter is not None:  # aioimaplib's IDLE timer, never needed here
            self._client._idle_waiter.cancel()

    async def logout(self) -> None:
        """Say goodbye politely, then close; errors here do not matter any more."""
        try:
            if not self._lost.is_set():
                await self._guard(self._client.logout(), what="LOGOUT", within=2.0)
        except (ImapError, OSError):
            pass
        finally:
            self.abort()

    def has(self, capability: str) -> bool:
        """Tell whether the server has ``capability`` (and it is not ignored)."""
        return capability in self.capabilities

    # -- commands --------------------------------------------------------------------------

    async def ensure_folder(self, name: str) -> None:
        """CREATE ``name`` unless it exists (ALREADYEXISTS is success here)."""
        response = await self._guard(self._client.create(name), what="CREATE")
        if response.result != "OK" and b"ALREADYEXISTS" not in _text(response).encode():
            raise ImapError(f"CREATE {name} failed: {_text(response)}")

    async def select(self, folder: str) -> Selected:
        """SELECT ``folder`` read-write and return its UIDVALIDITY and counts."""
        response = await self._guard(self._client.select(folder), what="SELECT")
        if response.result != "OK":
            raise ImapError(f"SELECT {folder} failed: {_text(response)}")
        uidvalidity = uidnext = None
        exists = 0
        for line in response.lines:
            if m := _UIDVALIDITY.search(line):
                uidvalidity = int(m.group(1))
            if m := _UIDNEXT.search(line):
                uidnext = int(m.group(1))
            if m := _EXISTS.match(line):
                exists = int(m.group(1))
        if uidvalidity is None:
            # RFC 3501 requires it; without it UIDs cannot be trusted across sessions.
            raise ImapError(f"SELECT {folder}: server sent no UIDVALIDITY")
        return Selected(uidvalidity=uidvalidity, exists=exists, uidnext=uidnext)

    async def search(self, *criteria: str) -> list[int]:
        """UID SEARCH ``criteria`` and return the UIDs, ascending."""
        response = await self._guard(
            self._client.uid_search(*criteria, charset=None), what="UID SEARCH"
        )
        if response.result != "OK":
            raise ImapError(f"UID SEARCH failed: {_text(response)}")
        return sorted(set(parse_search(response.lines)))

    async def uids_from(self, first: int) -> list[int]:
        """Return the UIDs >= ``first`` in the selected folder.

        ``UID first:*`` always matches the newest message even when its UID is below
        ``first`` (RFC 3501 6.4.8), hence the filter.
        """
        return [uid for uid in await self.search("UID", f"{first}:*") if uid >= first]

    async def fetch(self, uids: Sequence[int]) -> Fetched:
        """UID FETCH the full raw bytes of ``uids`` without setting \\Seen (BODY.PEEK[])."""
        # aioimaplib's FETCH timeout restarts on every chunk received, so a big batch on a
        # slow link is not cut off while data is still flowing.
        response = await self._guard(
            self._client.uid("fetch", uid_set(uids), "(UID BODY.PEEK[])"),
            what="UID FETCH",
            within=None,
        )
        if response.result not in ("OK", "NO"):
            raise ImapError(f"UID FETCH failed: {_text(response)}")
        return Fetched(parse_fetch(response.lines), refused=response.result == "NO")

    async def mark_seen(self, uids: Sequence[int]) -> None:
        """Set \\Seen on ``uids``."""
        await self._ok(
            self._client.uid("store", uid_set(uids), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE"
        )

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """Move ``uids`` to ``folder``: UID MOVE, else COPY + \\Deleted + (UID) EXPUNGE."""
        uset = uid_set(uids)
        if self.has("MOVE"):
            await self._ok(self._client.uid("move", uset, folder), "UID MOVE")
            return
        await self._ok(self._client.uid("copy", uset, folder), "UID COPY")
        await self._ok(
            self._client.uid("store", uset, "+FLAGS.SILENT", r"(\Seen \Deleted)"), "UID STORE"
        )
        if self.has("UIDPLUS"):
            await self._ok(self._client.uid("expunge", uset), "UID EXPUNGE")
        else:
            # Without UIDPLUS, EXPUNGE also removes messages someone else flagged \Deleted in
            # this folder; that is what any client's expunge does, and the alternative is a
            # folder that only grows.
            await self._ok(self._client.expunge(), "EXPUNGE")

    async def idle(self, stop: asyncio.Event, max_seconds: float) -> bool:
        """IDLE until the server reports news, ``max_seconds`` pass or ``stop`` is set.

        Return True if the server pushed something (new mail, expunges, flags). RFC 2177 asks
        clients to re-issue IDLE at least every 29 minutes; the caller picks ``max_seconds``.
        """
        client = self._client
        queue = client.protocol.idle_queue
        while not queue.empty():  # leftovers from an earlier IDLE
            queue.get_nowait()
        # aioimaplib's own IDLE timer would push a sentinel; we keep our own deadline instead.
        idle_task = await self._guard(client.idle_start(timeout=max_seconds + 3600), what="IDLE")
        if client._idle_waiter is not None:
            client._idle_waiter.cancel()
        push_task = asyncio.ensure_future(queue.get())
        stop_task = asyncio.ensure_future(stop.wait())
        lost_task = asyncio.ensure_future(self._lost.wait())
        waiters = {push_task, stop_task, lost_task}
        try:
            await asyncio.wait(waiters, timeout=max_seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
        if self._lost.is_set():
            idle_task.cancel()
            raise ConnectionLost("connection closed during IDLE")
        pushed = push_task.done() and not push_task.cancelled()
        lines = push_task.result() if pushed else []
        if any(isinstance(x, bytes) and x.startswith(b"BYE") for x in lines):
            idle_task.cancel()
            raise ConnectionLost(f"server said {lines[-1]!r}")
        client.idle_done()
        response = await self._guard(idle_task, what="IDLE DONE")
        if response.result != "OK":
            raise ImapError(f"IDLE ended with {response.result}: {_text(response)}")
        return pushed

    # -- plumbing --------------------------------------------------------------------------

    async def _ok(self, call: Awaitable[aioimaplib.Response], what: str) -> None:
        response = await self._guard(call, what=what)
        if response.result != "OK":
            raise ImapError(f"{what} failed: {_text(response)}")

    async def _guard(
        self, call: Awaitable[T], *, what: str, within: float | bool | None = True
    ) -> T:
        """Await ``call`` unless the connection drops or ``within`` seconds pass first.

        ``within=True`` means the session's timeout; ``None`` means no overall limit (the
        command has its own inactivity timer).
        """
        limit = self._timeout if within is True else (None if within is None else within)
        if self._lost.is_set():
            if asyncio.iscoroutine(call):
                call.close()
            raise ConnectionLost(f"{what}: connection is closed")
        task = asyncio.ensure_future(call)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task not in done:
            if self._lost.is_set():
                raise ConnectionLost(f"{what}: connection closed")
            raise ImapError(f"{what}: no answer within {limit} s")
        try:
            return task.result()
        except (aioimaplib.AioImapException, TimeoutError, OSError, ssl.SSLError) as exc:
            raise ImapError(f"{what}: {exc!r}") from exc


def _text(response: aioimaplib.Response) -> str:
    """The human part of a response: its last line (the tagged completion text)."""
    if not response.lines:
        return ""
    last = response.lines[-1]
    return bytes(last).decode("utf-8", "replace") if isinstance(last, bytes | bytearray) else ""
