"""Reading mail once, routing it, and running pipelines: bad input is quarantined with a reason."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from handlers import routes
from handlers.pec_receipts import RecordPecReceipt
from handlers.run import process
from handlers.work import Disposition, Work
from tests.support.ref import ref_bytes

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _outcome(raw: bytes, max_bytes: int = 10_000):  # type: ignore[no-untyped-def]
    return process(Work(1, raw, NOW, "lmtp"), max_bytes=max_bytes)


def test_routing_tables_are_consistent() -> None:
    routes.check()


def test_check_names_unknown_steps() -> None:
    with pytest.raises(ValueError, match="unknown handler 'nope'"):
        routes.check(routes.ROUTES, {**routes.PIPELINES, "unknown": ("nope",)})
    with pytest.raises(ValueError, match="'any' predicate"):
        routes.check(routes.ROUTES[:-1], routes.PIPELINES)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"\r\n\r\n  ", "empty message"),
        (b"From: a@b\r\nSubject: x\r\n\r\nbo\x00dy", "NUL bytes"),
        (b"From: a@b\r\nSubject: x\rBcc: victim@c\r\n\r\nbody", "bare CR"),
        (b"From: a@b\r\nSubject: x\r\nnot a header\r\n\r\nbody", "malformed header line"),
        (b"From: a@b\r\nSubject: x\r\n\r\n", "no body"),
        (b"no headers at all, just text", "no blank line"),
    ],
)
def test_bad_input_is_quarantined_with_its_reason(raw: bytes, reason: str) -> None:
    outcome = _outcome(raw)
    assert outcome.disposition is Disposition.QUARANTINE
    assert reason in outcome.reason
    assert outcome.route == "unreadable"


def test_raw_8bit_header_is_read_not_crashed() -> None:
    outcome = _outcome("From: Niccolò <n@b>\r\nSubject: è\r\n\r\nbody".encode("latin-1"))
    assert outcome.route == "unknown"
    assert outcome.disposition is Disposition.QUARANTINE


def test_random_bytes_are_quarantined() -> None:
    for seed in range(50):
        raw = os.urandom(300 + seed)
        outcome = _outcome(raw)
        assert outcome.disposition is Disposition.QUARANTINE, raw


def test_oversize_is_quarantined_without_parsing() -> None:
    outcome = _outcome(b"From: a@b\r\n\r\n" + b"x" * 2000, max_bytes=1000)
    assert outcome.route == "oversize"
    assert outcome.disposition is Disposition.QUARANTINE
    assert "over the limit of 1000 bytes" in outcome.reason


def test_plain_mail_has_no_route_and_is_held() -> None:
    outcome = _outcome(b"From: someone@example.org\r\nSubject: hi\r\n\r\nhello")
    assert outcome.route == "unknown"
    assert outcome.disposition is Disposition.QUARANTINE
    assert "someone@example.org" in outcome.reason


def test_pec_receipt_is_classified_by_header_not_subject() -> None:
    raw = ref_bytes("pec", "accettazione_IT03339130126_00009.eml")
    disguised = raw.replace(b"Subject: ", b"Subject: CONSEGNA: not what it says ", 1)
    for data in (raw, disguised):
        outcome = _outcome(data, max_bytes=1_000_000)
        assert outcome.route == "pec-receipt"
        assert outcome.disposition is Disposition.DONE
        (effect,) = outcome.effects
        assert isinstance(effect, RecordPecReceipt)
        assert effect.receipt_type == "accettazione"
        assert effect.ref_message_id == (
            "1542123565.921546936035156.464602125997431-openerp-8-"
            "fatturapa.attachment.out@elbati-Vostro-3550"
        )
        assert effect.error is None


def test_delivery_receipt_names_the_recipient() -> None:
    outcome = _outcome(ref_bytes("pec", "avvenuta-consegna_IT03339130126_00009.eml"), 1_000_000)
    (effect,) = outcome.effects
    assert isinstance(effect, RecordPecReceipt)
    assert effect.receipt_type == "avvenuta-consegna"
    assert effect.recipient == "l.battistini@pec.it"  # daticert <consegna>, as captured


def test_malformed_receipt_is_held() -> None:
    raw = b"From: a@b\r\nX-Ricevuta: made-up\r\n\r\nbody"
    outcome = _outcome(raw)
    assert outcome.disposition is Disposition.QUARANTINE
    assert "malformed PEC receipt" in outcome.reason
