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


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("accettazione_IT03339130126_00009.eml", "pec-receipt"),
        ("avvenuta-consegna_IT03339130126_00009.eml", "pec-receipt"),
        ("sdi_RC_ricevuta-di-consegna_6782414.eml", "sdi-notification"),
        ("sdi_MC_mancata-consegna_141107829.eml", "sdi-notification"),
        ("sdi_invio-file_7339338_fattura-e-MT.eml", "sdi-invoice"),
        ("sdi_invio-file_7339338_broken-xml.eml", "sdi-invoice"),
        ("sdi_invio-file_7339338_p7m-base64.eml", "sdi-invoice"),
    ],
)
def test_real_pec_mail_is_routed_by_what_it_carries(name: str, route: str) -> None:
    assert _outcome(ref_bytes("pec", name), max_bytes=1_000_000).route == route


def test_sdi_delivery_facts_name_the_files() -> None:
    from handlers.mail import prepare
    from handlers.sdi_mail import SdiDelivery

    work = prepare(
        Work(1, ref_bytes("pec", "sdi_invio-file_7339338_fattura-e-MT.eml"), NOW, "imap"),
        max_bytes=1_000_000,
    )
    delivery = work.require(SdiDelivery)
    assert delivery.metadata is not None
    assert delivery.metadata.filename == "IT02652600210_00007_MT_002.xml"
    assert [i.filename for i in delivery.invoices] == ["IT02652600210_00007.xml"]
    assert delivery.notification is None
    rc = prepare(
        Work(2, ref_bytes("pec", "sdi_RC_ricevuta-di-consegna_6782414.eml"), NOW, "imap"),
        max_bytes=1_000_000,
    ).require(SdiDelivery)
    assert rc.notification_name is not None
    assert rc.notification_name.type.value == "RC"


def test_anomaly_and_malformed_envelopes_are_held() -> None:
    from handlers.formats.pec_build import PecProvider, anomaly_envelope
    from handlers.formats.sandbox_pki import make_sandbox_pki

    _, signer = make_sandbox_pki("Routes Test PEC")
    provider = PecProvider("Routes Test PEC S.p.A.", "pec.routes.test", signer)
    original = b"From: spam@example.org\r\nTo: pec@org.test\r\nSubject: hi\r\n\r\nbuy now\r\n"
    outcome = _outcome(anomaly_envelope(original, provider, message_id="a1@pec", when=NOW))
    assert outcome.route == "pec-anomaly"
    assert outcome.disposition is Disposition.QUARANTINE
    assert "anomaly" in outcome.reason
    broken = b"From: x@y\r\nX-Trasporto: posta-certificata\r\nSubject: s\r\n\r\nplain text\r\n"
    outcome = _outcome(broken)
    assert outcome.route == "pec-malformed"
    assert outcome.disposition is Disposition.QUARANTINE
    assert "malformed PEC envelope" in outcome.reason
