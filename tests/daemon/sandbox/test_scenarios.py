"""Scenario tables: the default table's promises, lookup precedence, the TOML loader's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.sandbox.scenarios import (
    DAY,
    DEFAULT_SCENARIOS,
    AfterMc,
    Outcome,
    PaAnswer,
    Scenario,
    Scenarios,
    Timing,
    load_scenarios,
)


def test_default_table() -> None:
    s = DEFAULT_SCENARIOS
    assert s.for_invoice("ABC1234", None) == s.default
    assert s.default.outcome is Outcome.DELIVER and s.default.recipient is None
    pec = s.for_invoice("0000000", "Acme@PEC.example.test")
    assert pec.outcome is Outcome.DELIVER and pec.recipient == "acme@pec.example.test"
    assert s.for_invoice("0000000", None).outcome is Outcome.MANCATA_CONSEGNA
    assert s.for_invoice("UFF001", None).pa is PaAnswer.ACCEPT
    refuse = s.for_invoice("uff002", None)
    assert refuse.pa is PaAnswer.REFUSE and refuse.reason
    assert s.for_invoice("UFF003", None).pa is PaAnswer.NO_ANSWER
    at = s.for_invoice("UFF004", None)
    assert at.outcome is Outcome.MANCATA_CONSEGNA and at.pa is PaAnswer.AT
    assert s.for_invoice("UFF005", None).after_mc is AfterMc.RC
    for code in ("SCART1", "SCARTO1"):
        assert s.for_invoice(code, None).codes == ("00404",)
    assert s.for_invoice("RITARDO", None).timing.delay == 7200
    assert s.for_invoice("DOPPIO1", None).timing.duplicate
    assert s.for_invoice("DISORDI", None).timing.out_of_order
    assert s.for_invoice("SILENTE", None).sdi_silent
    assert s.for_invoice("CAMBIO1", None).next_address == "sdi42@pec.fatturapa.it"
    assert Timing().terms == 15 * DAY and Timing().mc_retry == 10 * DAY


def test_recipient_entries_win_over_codes() -> None:
    table = Scenarios.from_toml("""
[codice.ABC1234]
outcome = "mancata-consegna"
[recipient."Buyer@pec.test"]
outcome = "scarto"
codes = ["00311"]
""")
    assert table.for_invoice("ABC1234", None).outcome is Outcome.MANCATA_CONSEGNA
    chosen = table.for_invoice("ABC1234", "buyer@pec.test")
    assert chosen.outcome is Outcome.SCARTO and chosen.codes == ("00311",)
    assert table.for_invoice("XYZ9999", None) == Scenario()


def test_toml_loader_full_entry(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text("""
[default]
pa = "no-answer"
[codice.UFF777]
recipient = "uff777@pa.test"
pa = "refuse"
reason = "CUP assente"
after_mc = "rc"
next_address = "sdi33@pec.fatturapa.it"
[codice.UFF777.timing]
delay = 60
answer_after = 3600
mc_retry = 10
terms = 100
duplicate = true
out_of_order = true
""", encoding="utf-8")
    entry = load_scenarios(path).for_invoice("UFF777", None)
    assert entry == Scenario(
        name="UFF777", recipient="uff777@pa.test", pa=PaAnswer.REFUSE, reason="CUP assente",
        after_mc=AfterMc.RC, next_address="sdi33@pec.fatturapa.it",
        timing=Timing(delay=60, answer_after=3600, mc_retry=10, terms=100, duplicate=True,
                      out_of_order=True))
    merged = DEFAULT_SCENARIOS.merged(load_scenarios(path))
    assert merged.for_invoice("UFF001", None).pa is PaAnswer.ACCEPT
    assert merged.for_invoice("UFF777", None).reason == "CUP assente"


@pytest.mark.parametrize("text", [
    "[codice.X]\noutcom = 'deliver'",  # typo in a key
    "[codici.X]\noutcome = 'deliver'",  # unknown table
    "[codice.X]\noutcome = 'consegna'",  # unknown outcome
    "[codice.X]\npa = 'maybe'",
    "[codice.X]\noutcome = 'scarto'",  # scarto without codes
    "[codice.X]\noutcome = 'scarto'\ncodes = ['404']",  # not a 5-digit code
    "[codice.X]\ntiming = { delay = 'soon' }",
    "[codice.X]\ntiming = { duplicate = 1 }",
    "[codice.X]\ntiming = { later = 5 }",
])
def test_toml_loader_refuses_mistakes(text: str) -> None:
    with pytest.raises(ValueError, match="scenario"):
        Scenarios.from_toml(text)
