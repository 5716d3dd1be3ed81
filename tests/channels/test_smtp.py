"""SMTP and PEC channels against a real aiosmtpd server with STARTTLS and AUTH."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.base import ChannelUnavailable, Outgoing
from channels.pec import PecChannel
from channels.smtp import SmtpChannel
from tests.support.smtp_sink import PASSWORD, USER, SmtpSink


def _msg(n: int, *, message_id: str | None = None) -> Outgoing:
    mid = message_id or f"<m{n}@pecora.test>"
    payload = (
        f"From: {USER}\r\nTo: dest@pec.test\r\nMessage-ID: {mid}\r\n"
        f"Subject: n{n}\r\n\r\nbody {n}\r\n"
    ).encode()
    return Outgoing(n, USER, ("dest@pec.test",), payload, mid)


def _channel(
    sink: SmtpSink, ca_file: Path | None, cls: type[SmtpChannel] = SmtpChannel, **kw: object
) -> SmtpChannel:
    return cls(
        "test",
        host="localhost",
        port=sink.port,
        security="starttls",
        username=USER,
        password=kw.pop("password", PASSWORD),  # type: ignore[arg-type]
        sender=USER,
        timeout=10,
        ca_file=ca_file,
        **kw,  # type: ignore[arg-type]
    )


async def test_sends_over_starttls_with_auth_and_exact_bytes(sink: SmtpSink, ca_file: Path) -> None:
    channel = _channel(sink, ca_file)
    deliveries = await channel.send([_msg(1), _msg(2)])
    await channel.close()
    assert [d.status for d in deliveries] == ["sent", "sent"]
    assert [r.data for r in sink.handler.received] == [_msg(1).payload, _msg(2).payload]
    assert all(r.tls and r.authenticated for r in sink.handler.received)
    assert sink.handler.connections == 1  # one connection for the batch


async def test_unverified_certificate_is_refused_by_default(sink: SmtpSink) -> None:
    channel = _channel(sink, None)  # the test CA is not in the system store
    with pytest.raises(ChannelUnavailable, match="cannot connect"):
        await channel.send([_msg(1)])
    assert sink.handler.received == []


async def test_wrong_password_is_unavailable_and_not_logged(sink: SmtpSink, ca_file: Path) -> None:
    channel = _channel(sink, ca_file, password="wrong-secret")
    with pytest.raises(ChannelUnavailable) as info:
        await channel.send([_msg(1)])
    assert "authentication refused" in str(info.value)
    assert "wrong-secret" not in str(info.value) + repr(channel)


async def test_4xx_retries_5xx_fails_and_batch_goes_on(sink: SmtpSink, ca_file: Path) -> None:
    sink.handler.script.extend(["451 4.3.0 try later", "554 5.6.0 rejected", "250 ok"])
    channel = _channel(sink, ca_file)
    deliveries = await channel.send([_msg(1), _msg(2), _msg(3)])
    await channel.close()
    assert [d.status for d in deliveries] == ["retry", "failed", "sent"]
    assert "451" in deliveries[0].detail
    assert "554" in deliveries[1].detail
    assert len(sink.handler.received) == 1


async def test_refused_recipients(sink: SmtpSink, ca_file: Path) -> None:
    sink.handler.refuse["dest@pec.test"] = "550 5.1.1 no such user"
    channel = _channel(sink, ca_file)
    (d,) = await channel.send([_msg(1)])
    await channel.close()
    assert d.status == "failed"
    assert "550" in d.detail
    sink.handler.refuse["dest@pec.test"] = "450 4.2.1 mailbox busy"
    (d,) = await channel.send([_msg(2)])
    await channel.close()
    assert d.status == "retry"


async def test_connection_refused_is_unavailable(ca_file: Path) -> None:
    channel = SmtpChannel("x", host="127.0.0.1", port=1, security="plain", sender=USER, timeout=5)
    with pytest.raises(ChannelUnavailable):
        await channel.send([_msg(1)])


async def test_pec_requires_fixed_message_id_and_own_sender(sink: SmtpSink, ca_file: Path) -> None:
    channel = _channel(sink, ca_file, cls=PecChannel)
    no_id = Outgoing(1, USER, ("dest@pec.test",), b"From: x\r\n\r\nbody\r\n", None)
    other = Outgoing(
        2, "someone@else.test", ("dest@pec.test",), _msg(2).payload, "<m2@pecora.test>"
    )
    deliveries = await channel.send([no_id, other, _msg(3)])
    await channel.close()
    assert [d.status for d in deliveries] == ["failed", "failed", "sent"]
    assert deliveries[2].provider_ref == "<m3@pecora.test>"
    assert len(sink.handler.received) == 1
