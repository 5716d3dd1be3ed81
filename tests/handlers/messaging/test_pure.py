"""Templates, state machine, rate-limit maths, segments and fallback choice."""

from __future__ import annotations

import pytest

from handlers.messaging import ratelimit, states, templates
from handlers.messaging.choice import Reachability, Segment, choose


def test_render_and_strict_fields() -> None:
    out = templates.render(
        "Quota {{ anno }}", "Gentile {{ nome }},\n", {"anno": 2025, "nome": "Ada"}
    )
    assert out == templates.Rendered("Quota 2025", "Gentile Ada,\n")
    with pytest.raises(templates.TemplateProblem, match="body"):
        templates.render("x", "{{ cognome }}", {"nome": "Ada"})
    with pytest.raises(templates.TemplateProblem, match="subject"):
        templates.check("{% if %}", "subject")


def test_sandbox_refuses_unsafe_access() -> None:
    with pytest.raises(templates.TemplateProblem):
        templates.render("x", "{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    with pytest.raises(templates.TemplateProblem):
        templates.render("x", "{% set _ = d.update(a=1) %}", {"d": {}})


def test_subject_single_line() -> None:
    with pytest.raises(templates.TemplateProblem, match="one line"):
        templates.render("a\nb", "", {})


def test_sms_segments() -> None:
    assert templates.sms_segments("a" * 160) == 1
    assert templates.sms_segments("a" * 161) == 2
    assert templates.sms_segments("€" * 80) == 1  # extended GSM: two units each
    assert templates.sms_segments("ł" * 71) == 2  # UCS-2


def test_states_only_move_forward() -> None:
    adv = states.advance
    assert adv("queued", "submitted") == "submitted"
    assert adv("submitted", "delivered") == "delivered"
    assert adv("delivered", "accepted") is None  # out of order: ignored
    assert adv("accepted", "submitted") is None
    assert adv("accepted", "accepted") is None  # duplicate
    assert adv("failed", "delivered") is None  # terminal
    assert adv("failed-temporary", "submitted") == "submitted"
    assert adv("submitted", "failed-temporary") is None
    assert adv("queued", "cancelled") == "cancelled"
    assert adv("submitted", "cancelled") is None  # already left us
    assert adv("queued", "failed") == "failed"
    with pytest.raises(ValueError, match="unknown"):
        adv("queued", "bounced")


def test_token_bucket() -> None:
    bucket = ratelimit.TokenBucket(rate=10, burst=5)
    assert bucket.take(0.0, 8) == 5
    assert bucket.take(0.0, 1) == 0
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert bucket.take(0.25, 5) == 2
    bucket.give_back(1)
    assert bucket.take(0.25, 5) == 1
    bucket.block(0.3, 2.0)
    assert bucket.take(1.0, 1) == 0
    assert bucket.wait(1.0) == pytest.approx(1.3)
    assert bucket.take(2.4, 1) == 1


def test_sliding_window() -> None:
    window = ratelimit.SlidingWindow(quota=3, seconds=10)
    window.record(0.5, 2)
    window.record(4.2)
    assert window.available(5) == 0
    assert window.wait(5) == pytest.approx(5)  # the two at second 0 leave at 10
    assert window.available(10.0) == 2
    assert window.wait(10.0) == 0


def test_retry_after_and_backoff() -> None:
    assert ratelimit.retry_after("429 too many requests retry-after=2.5") == 2.5
    assert ratelimit.retry_after("500") is None
    assert [ratelimit.backoff(a, base=5, cap=30) for a in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_segment() -> None:
    seg = Segment(frozenset({"iscritti"}), frozenset({"roma", "milano"}), frozenset({"sospesi"}))
    assert seg.matches({"iscritti", "roma"})
    assert not seg.matches({"iscritti"})
    assert not seg.matches({"iscritti", "roma", "sospesi"})
    assert Segment.from_json(seg.to_json()) == seg
    assert Segment.from_json(None).matches(set())


def test_choose_with_fallback() -> None:
    pref = ["pec", "email", "registered-mail"]
    who = Reachability(
        {"pec": "a@pec.it", "email": "a@b.it", "registered-mail": "Via Roma 1"},
        consent={"email": False},
    )
    assert choose(pref, who).channel == "pec"
    after = choose(pref, who, after="pec")
    assert after.channel == "registered-mail"
    assert after.skipped == ("email: no consent",)
    out = Reachability({"pec": "a@pec.it"}, opted_out=frozenset({"pec"}))
    assert choose(pref, out).channel is None
