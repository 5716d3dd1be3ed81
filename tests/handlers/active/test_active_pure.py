"""Pure parts of active invoicing: the §3.4 state machine (monotonic, order-proof), drafts,
parties, the built model passing SdI's checks, alerts, suggestions."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from handlers.active import alerts, build, draft, parties, suggestions
from handlers.active.states import TERMINAL, Event, State, advance
from handlers.formats import fatturapa as fp

E, S = Event, State


@pytest.mark.parametrize(
    ("pa", "events", "final"),
    [
        (False, [E.SUBMITTED, E.ACCETTAZIONE, E.AVVENUTA_CONSEGNA, E.RC], S.DELIVERED),
        (False, [E.RC, E.ACCETTAZIONE, E.AVVENUTA_CONSEGNA], S.DELIVERED),  # SdI overtakes PEC
        (False, [E.RC, E.MC], S.DELIVERED),  # an MC after an RC changes nothing
        (False, [E.MC], S.NOT_DELIVERED_AVAILABLE),
        (True, [E.MC, E.RC, E.NE_EC01], S.ACCEPTED),
        (True, [E.MC, E.AT], S.ATTESTED),
        (True, [E.RC, E.NE_EC02, E.DT], S.REFUSED),
        (True, [E.RC, E.DT, E.NE_EC01], S.TERMS_EXPIRED),
        (False, [E.NS, E.RC], S.SDI_REJECTED),
        (False, [E.NON_ACCETTAZIONE, E.ACCETTAZIONE], S.PEC_REFUSED),
        (False, [E.ACCETTAZIONE, E.PREAVVISO, E.ERRORE_CONSEGNA], S.PEC_DELIVERY_FAILED),
        (False, [E.ACCETTAZIONE, E.PREAVVISO, E.AVVENUTA_CONSEGNA], S.PEC_DELIVERED),
    ],
)
def test_sequences(pa: bool, events: list[Event], final: State) -> None:
    state = S.QUEUED
    for event in events:
        state = advance(state, event, pa=pa) or state
    assert state is final


@pytest.mark.parametrize("pa", [False, True])
def test_duplicates_change_nothing_and_terminal_states_stay(pa: bool) -> None:
    for state, event in itertools.product(State, Event):
        if state is S.DRAFT:
            continue
        moved = advance(state, event, pa=pa)
        if moved is not None:
            assert advance(moved, event, pa=pa) in (None, moved), (state, event)
        if state in TERMINAL and state is not S.NOT_DELIVERED_AVAILABLE:
            assert moved is None, (state, event)


def test_draft_from_toml_csv_and_refusals() -> None:
    d = draft.parse(
        b'customer = "acme"\n[[lines]]\ndescription = "A"\nunit_price = "10"\n', "x.toml"
    )
    assert d.lines[0].vat == "22" and d.tipo == "TD01"
    csv = b"description;quantity;unit_price;vat;nature\nOre;2;50,5;22;\nBollo;;2;0;N1\n"
    lines = draft.parse(csv, "l.csv", customer="acme").lines
    assert [(x.quantity, x.unit_price, x.nature) for x in lines] == [
        ("2", "50.5", None),
        (None, "2", "N1"),
    ]
    assert draft.from_json(d.to_json()) == d
    for bad, why in [
        (b'customer="a"\n[[lines]]\ndescription="x"\nunit_price=1.5\n', "floats"),
        (b'customer="a"\n[[lines]]\ndescription="x"\nunit_price="1"\nvat="0"\n', "00400"),
        (b'customer="a"\ntipo="TD04"\n[[lines]]\ndescription="x"\nunit_price="1"\n', "corrects"),
        (b'customer="a"\ncolour="red"\n[[lines]]\ndescription="x"\nunit_price="1"\n', "unknown"),
    ]:
        with pytest.raises(draft.BadDraft, match=why):
            draft.parse(bad, "x.toml")


SELLER = parties.PartyData(
    key="me",
    kind="b2b",
    denominazione="Pecora Srl",
    id_paese="IT",
    id_codice="01234567890",
    regime_fiscale="RF01",
    indirizzo="Via Roma 1",
    cap="00184",
    comune="Roma",
)


@pytest.mark.parametrize(
    ("kind", "code", "pec", "formato", "dest"),
    [
        ("pa", "UFF001", None, "FPA12", "UFF001"),
        ("b2b", "ABC1234", None, "FPR12", "ABC1234"),
        ("b2b", "0000000", "x@pec.it", "FPR12", "0000000"),
        ("b2c", None, None, "FPR12", "0000000"),
        ("foreign", None, None, "FPR12", "XXXXXXX"),
    ],
)
def test_built_invoices_pass_sdi_checks(
    kind: str, code: str | None, pec: str | None, formato: str, dest: str
) -> None:
    foreign = kind == "foreign"
    customer = parties.PartyData(
        key="c",
        kind=kind,
        denominazione="Cliente",
        indirizzo="Rue 1",
        cap="75001" if foreign else "20121",
        comune="Paris" if foreign else "Milano",
        nazione="FR" if foreign else "IT",
        id_paese="FR" if foreign else None,
        id_codice="12345678901" if foreign else None,
        codice_fiscale=None if foreign else "80012345678",
        codice_destinatario=code,
        pec_destinatario=pec,
    )
    assert parties.problems(customer) == []
    d = draft.from_mapping(
        {
            "customer": "c",
            "lines": [
                {
                    "description": "x",
                    "quantity": "3",
                    "unit_price": "33.333",
                    "vat": "22",
                    "discount_percent": "10",
                }
            ],
        }
    )
    model = build.build(
        d,
        seller=SELLER,
        customer=customer,
        numbering=build.Numbering("7", date(2025, 3, 1), "0000A"),
    )
    assert fp.validate(model) == []
    assert fp.validate_bytes(fp.write(model)) == []
    assert model.versione == formato
    assert model.header.dati_trasmissione.codice_destinatario == dest


def test_party_problems() -> None:
    pa = parties.PartyData(
        key="p",
        kind="pa",
        denominazione="Comune",
        indirizzo="x",
        cap="00100",
        comune="Roma",
        codice_destinatario="ABC1234",
        codice_fiscale="80012345678",
    )
    assert parties.problems(pa) == ["a PA needs its 6-char codice Ufficio (IPA)"]
    assert parties.kind_for("UFF001") == "pa" and parties.kind_for("0000000") == "b2c"


def test_alerts_and_suggestions() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    w = alerts.Watched("F.xml", "1", S.NOT_DELIVERED_AVAILABLE, False, t0, t0, t0, t0, None)
    assert alerts.due(w, t0 + timedelta(days=30), alerts.Thresholds()) == []
    rejected = alerts.Watched("F.xml", "1", S.SDI_REJECTED, False, t0, t0, t0, t0, None)
    assert [a.kind for a in alerts.due(rejected, t0, alerts.Thresholds())] == ["state:sdi-rejected"]
    assert "nuovo numero" in suggestions.suggestion("00404")
    assert "Elenco controlli" in suggestions.suggestion("99999")


def test_ns_00002_answers_a_duplicate_copy_and_moves_nothing() -> None:
    # A crash resent the file: the copy's NS 00002 can overtake the original's RC.
    for state in (State.PEC_ACCEPTED, State.PEC_DELIVERED, State.DELIVERED):
        assert advance(state, Event.NS_DUPLICATE_NAME, pa=False) is None
    assert advance(State.PEC_DELIVERED, Event.RC, pa=False) is State.DELIVERED


def test_ns_with_00002_among_other_errors_is_a_rejection() -> None:
    from handlers.active.correlate import read
    from handlers.formats.sdi import Errore, NotificaScarto, SdiFlow
    from handlers.sdi_notifications import SdiNotification

    def ns(*codes: str) -> SdiNotification:
        message = NotificaScarto(
            flow=SdiFlow.B2B,
            identificativo_sdi="1",
            message_id="m",
            pec_message_id=None,
            note=None,
            signed=True,
            nome_file="IT01234567890_00001.xml",
            hash=None,
            data_ora_ricezione=datetime(2026, 11, 28, tzinfo=UTC),
            riferimento_archivio=None,
            errori=tuple(Errore(c, "x", None) for c in codes),
        )
        return SdiNotification(message, "IT01234567890_00001_NS_001.xml", b"", None, None, None)

    only_dup, mixed = read(ns("00002")), read(ns("00002", "00404"))
    assert only_dup is not None
    assert only_dup.event is Event.NS_DUPLICATE_NAME
    assert mixed is not None
    assert mixed.event is Event.NS
