"""Campaign payloads: the text mail written directly is byte for byte what EmailMessage writes."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import pytest

from handlers.messaging.payloads import Attachment, Built, build, message_id_for
from handlers.messaging.templates import Rendered

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

BODIES = [
    "Gentile Dott. Socio 1, la quota 2025 scade il 31 marzo.\n" * 3,
    "",
    "\n",
    "no final newline",
    "CRLF\r\nand CR\rlines\n",
    "x" * 78 + "\n",
    "x" * 79 + "\n",
    "y" * 1200,
    "È scaduta la quota: più di 30 giorni fa. Perciò la preghiamo di versarla.\n" * 4,
    "È scaduta la quota\n" * 25,
    "Caffè " * 40 + "\n",
    "日本語のテキスト、完全に非ラテン文字。\n" * 3,
    "日本語\n" * 30,
    "emoji 🎉 in the middle\nand a tab\there\n",
    "From the start of a line\n.\n..\n",
    "trailing spaces   \n \n",
]
SUBJECTS = ["Avviso", "Quota 2025: è scaduta", "x" * 120, "  spaced   out  ", "Oggetto (1)"]
ADDRESSES = [
    "socio1@mail.test",
    "Mario.Rossi+albo@sub.mail.test",
    "Mario Rossi <mario@mail.test>",
    '"Rossi, Mario" <mario@mail.test>',
    "àccento@mail.test",
    "a" * 70 + "@mail.test",
]


def oracle(
    channel: str, key: str, address: str, r: Rendered, sender: str, unsub: str | None
) -> bytes:
    """How the payload was built before the direct writer (and still is with an attachment)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = r.subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = message_id_for(key, parseaddr(sender)[1].rpartition("@")[2])
    if channel == "email" and unsub:
        msg["List-Unsubscribe"] = f"<{unsub}>"
    msg.set_content(r.body)
    return msg.as_bytes()


def _build(
    channel: str, key: str, address: str, r: Rendered, sender: str, unsub: str | None
) -> Built:
    return build(
        channel,
        key=key,
        address=address,
        rendered=r,
        sender=sender,
        attachment=None,
        postal=None,
        now=NOW,
        unsubscribe=unsub,
    )


@pytest.mark.parametrize("body", BODIES)
def test_bodies_match_email_message(body: str) -> None:
    r = Rendered("Avviso", body)
    built = _build("email", "c1:m2:email", "socio@mail.test", r, "albo@ordine.test", None)
    assert built.payload == oracle(
        "email", "c1:m2:email", "socio@mail.test", r, "albo@ordine.test", None
    )
    back = message_from_bytes(built.payload, policy=policy.default)
    assert back.get_content().rstrip("\n").splitlines() == body.rstrip("\n").splitlines()


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("address", ADDRESSES)
@pytest.mark.parametrize("channel", ["email", "pec"])
def test_headers_match_email_message(subject: str, address: str, channel: str) -> None:
    r = Rendered(subject, "Gentile socio,\nla quota scade.\n")
    sender, unsub = "Ordine <albo@ordine.test>", "https://ordine.test/u?t=abc"
    key = f"c12:m{len(address)}:{channel}"
    built = _build(channel, key, address, r, sender, unsub)
    assert built.payload == oracle(channel, key, address, r, sender, unsub)
    # the domain of the address, not of "Ordine <albo@ordine.test>" as written
    assert built.message_id == message_id_for(key, "ordine.test")
    assert built.message_id.endswith("@ordine.test>")
    assert built.recipients == (address,)


def test_a_long_domain_message_id_is_folded_like_email_message() -> None:
    sender = "albo@" + "sotto." * 12 + "ordine.test"
    r = Rendered("Avviso", "testo\n")
    built = _build("email", "c1:m1:email", "a@b.test", r, sender, None)
    assert built.payload == oracle("email", "c1:m1:email", "a@b.test", r, sender, None)


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="linefeed"):
        _build("email", "c1:m1:email", "a@b.test\nBcc: x@y.test", Rendered("s", "b"), "a@b", None)


def test_with_an_attachment_it_is_still_email_message() -> None:
    pdf = Attachment("avviso.pdf", b"%PDF-1.4 test")
    built = build(
        "pec",
        key="c1:m1:pec",
        address="socio@pec.test",
        rendered=Rendered("Avviso", "In allegato.\n"),
        sender="albo@pec.ordine.test",
        attachment=pdf,
        postal=None,
        now=NOW,
    )
    msg = message_from_bytes(built.payload, policy=policy.default)
    assert msg.is_multipart()
    assert [p.get_filename() for p in msg.iter_attachments()] == ["avviso.pdf"]
