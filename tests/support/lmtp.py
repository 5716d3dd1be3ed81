"""Deliver over LMTP with the stdlib client, reading one reply per recipient.

smtplib's ``LMTP.sendmail`` reads a single reply after DATA, although RFC 2033 §4.2 sends one
per accepted recipient; this reads them all.
"""

from __future__ import annotations

import smtplib


def deliver(port: int, raw: bytes, rcpts: list[str], sender: str = "sender@pec.test") -> list[int]:
    """Deliver ``raw``; return the reply code per recipient (a refused RCPT counts as its code)."""
    with smtplib.LMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail(sender)
        codes: list[int | None] = []
        for rcpt in rcpts:
            code, _ = client.rcpt(rcpt)
            codes.append(None if code == 250 else code)
        if all(c is not None for c in codes):
            return [c for c in codes if c is not None]
        code, _ = client.data(raw)
        replies = [code]
        replies += [client.getreply()[0] for _ in range(sum(c is None for c in codes) - 1)]
        it = iter(replies)
        return [next(it) if c is None else c for c in codes]
