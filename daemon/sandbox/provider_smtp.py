"""SMTP submission server of a sandbox PEC provider, served by aiosmtpd inside the running loop.

Same approach as pecora's own ingress (`daemon.ingress.lmtp`): ``loop.create_server`` with an
aiosmtpd `SMTP` factory, no Controller thread. AUTH (PLAIN/LOGIN, login = the PEC address) is
required before MAIL, as at every PEC provider; on loopback it is allowed without TLS, and
STARTTLS is offered when a TLS context is given. The verdict on a message is a PEC receipt, not
an SMTP code (domain.md §4.2): an accepted *or* refused submission is answered ``250``, and the
accettazione / non-accettazione lands in the sender's mailbox. Only what no receipt can describe
gets an SMTP error (no From or Message-ID: ``550``; ``tempfail_submissions``: ``451``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

if TYPE_CHECKING:
    from daemon.sandbox.provider import SandboxProvider

__all__ = ["serve_submission"]

log = logging.getLogger(__name__)
_IN_FLIGHT: set[asyncio.Future[Any]] = set()  # submissions that outlive a hung-up client

REPLY_530_AUTH_FIRST = "530 5.7.0 Authentication required"

# Real PEC mail does not always keep lines under RFC 5321's 1,000 octets (daemon.ingress.lmtp);
# a provider that bounced it would not be faithful.
_LINE_LIMIT = 1024 * 1024


class _Smtp(SMTP):
    line_length_limit = _LINE_LIMIT


class _SubmissionHandler:
    """aiosmtpd hooks: authenticated senders only; DATA goes to `SandboxProvider.submit`."""

    def __init__(self, provider: SandboxProvider) -> None:
        self._provider = provider

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        """Refuse MAIL before AUTH (not ``auth_required``: see `serve_submission`)."""
        if not session.authenticated:
            return REPLY_530_AUTH_FIRST
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Submit the message as the authenticated account; the receipts tell the rest."""
        from daemon.sandbox.provider import SubmissionRejected

        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only with decode_data=True, which we never set
            raw = raw.encode("utf-8", "surrogateescape")
        account = str(session.auth_data or "")
        # A real provider that has taken a message carries it through even if the client
        # hangs up before the reply: aiosmtpd cancels the handler on disconnect, so the
        # submission runs as its own task (kept referenced until done) behind a shield.
        task = asyncio.ensure_future(
            self._provider.submit(envelope.mail_from or "", envelope.rcpt_tos, raw,
                                  account=account)
        )
        _IN_FLIGHT.add(task)
        task.add_done_callback(_IN_FLIGHT.discard)
        try:
            outcome = await asyncio.shield(task)
        except SubmissionRejected as exc:
            log.info("provider %s: SMTP submission by %s rejected: %s", self._provider.domain,
                     account, exc.reply)
            return exc.reply
        verdict = "accepted" if outcome.accepted else "not accepted (see non-accettazione)"
        return f"250 2.0.0 Ok: {verdict} as {outcome.identificativo}"


def _authenticator(provider: SandboxProvider) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        if provider.check_login(login, data.password.decode("utf-8", "replace")):
            # auth_data becomes session.auth_data: the account that handle_DATA submits as.
            return AuthResult(success=True, handled=False, auth_data=login)
        log.info("provider %s: AUTH %s refused for %s", provider.domain, mechanism, login)
        return AuthResult(success=False, handled=False)

    return check


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_submission(provider: SandboxProvider, host: str, port: int, stop: asyncio.Event,
                           started: asyncio.Event | None = None, *,
                           tls: ssl.SSLContext | None = None) -> None:
    """Serve SMTP submission for ``provider`` on loopback until ``stop`` is set.

    AUTH is enforced in ``handle_MAIL`` rather than with aiosmtpd's ``auth_required``, which
    warns whenever AUTH is allowed without TLS — intended here, and only on loopback.
    """
    if not _loopback(host):
        raise ValueError(f"the sandbox serves loopback only, not {host!r}")
    handler = _SubmissionHandler(provider)
    # Over the provider's limit the message is taken and refused with a non-accettazione, as a
    # provider does; only far beyond it does SMTP itself refuse (552), to bound memory.
    hard_limit = max(2 * provider.max_message_bytes, provider.max_message_bytes + 2**20)
    options: dict[str, Any] = {"tls_context": tls, "require_starttls": False} if tls else {}

    def factory() -> SMTP:
        return _Smtp(handler, hostname=f"smtps.{provider.domain}", data_size_limit=hard_limit,
                     authenticator=_authenticator(provider), auth_require_tls=False, **options)

    server = await asyncio.get_running_loop().create_server(factory, host, port)
    log.info("provider %s: SMTP submission listening on %s:%d%s", provider.domain, host, port,
             " (STARTTLS offered)" if tls else "")
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        server.close()  # stop accepting; sessions in progress finish their transaction
        await server.wait_closed()
