"""SMTP submission channel (aiosmtplib): one connection per batch, replies mapped to outcomes.

4xx replies are temporary (retry), 5xx permanent (failed); a connection that cannot be made or
is lost mid-batch raises `ChannelUnavailable` with what was already delivered, so the rest of
the batch stays queued without an attempt counted against it.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

import aiosmtplib

from channels.base import ChannelUnavailable, Delivery, Outgoing


def tls_context(*, verify: bool = True, ca_file: Path | None = None) -> ssl.SSLContext:
    """Return a client TLS context: verified against the system store (or ``ca_file``)."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:  # an explicit operator choice in the config, never a default
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _kind(code: int) -> str:
    return "retry" if 400 <= code < 500 else "failed"


class SmtpChannel:
    """Sends RFC 5322 payloads through an SMTP submission server."""

    def __init__(
        self,
        alias: str,
        *,
        host: str,
        port: int,
        security: str = "tls",
        username: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        timeout: float = 60,
        verify_tls: bool = True,
        ca_file: Path | None = None,
    ) -> None:
        self.alias = alias
        self._host, self._port, self._security = host, port, security
        self._username, self._password = username, password
        self.sender = sender
        self._timeout = timeout
        self._tls = tls_context(verify=verify_tls, ca_file=ca_file) if security != "plain" else None
        self._client: aiosmtplib.SMTP | None = None

    def __repr__(self) -> str:  # never show the password
        return f"<{type(self).__name__} {self.alias} {self._host}:{self._port}>"

    async def open(self) -> None:
        """See `Channel.open`."""
        if self._client is not None and self._client.is_connected:
            return
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._security == "tls",
            start_tls=self._security == "starttls",
            tls_context=self._tls,
            timeout=self._timeout,
        )
        try:
            await client.connect()
            if self._username:
                await client.login(self._username, self._password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise ChannelUnavailable(f"{self.alias}: authentication refused ({exc.code})") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise ChannelUnavailable(f"{self.alias}: cannot connect: {exc}") from exc
        self._client = client

    async def close(self) -> None:
        """See `Channel.close`."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()

    def _sender_of(self, item: Outgoing) -> str:
        sender = item.sender or self.sender
        if not sender:
            raise ValueError(f"{self.alias}: no envelope sender for outbox item {item.outbox_id}")
        return sender

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        """See `Channel.send`."""
        await self.open()
        out: list[Delivery] = []
        for item in batch:
            assert self._client is not None
            try:
                refused, reply = await self._client.sendmail(
                    self._sender_of(item), list(item.recipients), item.payload
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [r.code for r in exc.recipients]
                status = "retry" if any(400 <= c < 500 for c in codes) else "failed"
                detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
                out.append(Delivery(item.outbox_id, status, detail=detail))  # type: ignore[arg-type]
                await self._reset()
                continue
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code in (421,):  # service closing: the connection is gone
                    await self.close()
                    raise ChannelUnavailable(
                        f"{self.alias}: {exc.code} {exc.message}", out
                    ) from exc
                out.append(
                    Delivery(item.outbox_id, _kind(exc.code), detail=f"{exc.code} {exc.message}")
                )  # type: ignore[arg-type]
                await self._reset()
                continue
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                raise ChannelUnavailable(f"{self.alias}: connection lost: {exc}", out) from exc
            detail = reply
            if refused:
                detail += (
                    " (refused: "
                    + "; ".join(f"{r}: {c} {m}" for r, (c, m) in refused.items())
                    + ")"
                )
            out.append(
                Delivery(item.outbox_id, "sent", provider_ref=item.message_id, detail=detail)
            )
        return out

    async def _reset(self) -> None:
        # After a refused transaction the server expects RSET before the next MAIL FROM.
        if self._client is None:
            return
        try:
            await self._client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()
