"""Property tests: generated invoices round-trip as the identity and are XSD-valid; on mutated
invoices the model's structural verdict agrees with the official XSD."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from handlers.formats.fatturapa import check_structure, parse, parse_report, write
from handlers.formats.fatturapa.fields import FieldSpec

from .conftest import xsd_errors
from .factory import replace_in
from .strategies import invoices, leaf_paths, wild_value

SETTINGS = settings(
    # PECORA_HYPOTHESIS_EXAMPLES=2000 for a long local run; the default keeps the suite quick.
    max_examples=int(os.environ.get("PECORA_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@SETTINGS
@given(invoices)
def test_generated_invoice_round_trips_and_is_xsd_valid(xsd123: Any, inv: Any) -> None:
    assert check_structure(inv) == []
    data = write(inv)
    assert xsd_errors(xsd123, data) == []
    result = parse_report(data)
    assert result.findings == ()
    assert result.invoice == inv
    assert write(result.invoice) == data  # byte-stable too


@SETTINGS
@given(invoices, st.data())
def test_structural_verdict_agrees_with_xsd_on_mutations(
    xsd123: Any, inv: Any, data: st.DataObject
) -> None:
    paths = leaf_paths(inv)
    path, fs = data.draw(st.sampled_from(paths), label="field")
    value = data.draw(_mutation(fs), label="value")
    mutated = replace_in(inv, path, value)
    model_says_valid = check_structure(mutated) == []
    try:
        xml = write(mutated)
    except ValueError:  # lxml refuses characters XML cannot carry
        assert not model_says_valid
        return
    errors = xsd_errors(xsd123, xml)
    assert model_says_valid == (errors == []), (path, value, errors, check_structure(mutated))
    if model_says_valid:
        assert parse(xml) == mutated


def _mutation(fs: FieldSpec) -> st.SearchStrategy[Any]:
    assert fs.stype is not None
    return st.none() | wild_value(fs.stype) if not fs.attr or fs.min == 0 else wild_value(fs.stype)


def test_xsd_fixture_rejects_an_order_error(xsd123: Any) -> None:
    """Guard: the compiled schema really validates (a swapped pair of elements fails)."""
    from .factory import invoice

    root = etree.fromstring(write(invoice()))
    dt = root.find("FatturaElettronicaHeader/DatiTrasmissione")
    assert dt is not None
    dt.insert(0, dt[1])  # ProgressivoInvio before IdTrasmittente
    bad = etree.tostring(root)
    assert xsd_errors(xsd123, bad) != []
    assert any("out of order" in f.message_en for f in parse_report(bad).findings)
