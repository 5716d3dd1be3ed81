"""daticert.xml parsing (domain.md §4.2): real receipts/envelopes and synthetic failure cases."""

from __future__ import annotations

import contextlib
import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.formats import xmlsafe
from handlers.formats.daticert import (
    Daticert,
    DaticertErrore,
    DaticertRecipient,
    DaticertTipo,
    MalformedDaticert,
    RecipientKind,
    TipoRicevuta,
    normalize_message_id,
    parse_daticert,
)
from tests.support.ref import ref_bytes

CET = timezone(timedelta(hours=1))
OUR_MSGID = (
    "1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out"
    "@elbati-Vostro-3550"
)


def _daticert_of(eml_name: str) -> bytes:
    """The daticert.xml attachment of a reference .eml, extracted with the stdlib only."""
    message = email.message_from_bytes(ref_bytes("pec", eml_name), policy=email.policy.compat32)
    for part in message.walk():
        if part.get_filename() == "daticert.xml":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"{eml_name} has no daticert.xml")


# --- real files -------------------------------------------------------------------------------


def test_aruba_accettazione() -> None:
    d = parse_daticert(_daticert_of("accettazione_IT03339130126_00009.eml"))
    assert d == Daticert(
        tipo=DaticertTipo.ACCETTAZIONE,
        errore=DaticertErrore.NESSUNO,
        mittente="l.battistini@pec.it",
        destinatari=(DaticertRecipient("l.battistini@pec.it", RecipientKind.CERTIFICATO),),
        risposte="l.battistini@pec.it",
        oggetto="IT03339130126_00009.xml",
        gestore_emittente="ARUBA PEC S.p.A.",
        data=datetime(2018, 11, 13, 16, 39, 26, tzinfo=CET),
        identificativo="opec288.20181113163926.01838.310.1.63@pec.aruba.it",
        msgid=OUR_MSGID,  # &lt;...&gt; unescaped and the brackets stripped
        ricevuta=None,
        consegna=None,
        ricezione=(),
        errore_esteso=None,
    )
    assert d.data.astimezone(UTC) == datetime(2018, 11, 13, 15, 39, 26, tzinfo=UTC)


def test_aruba_avvenuta_consegna() -> None:
    d = parse_daticert(_daticert_of("avvenuta-consegna_IT03339130126_00009.eml"))
    assert d.tipo is DaticertTipo.AVVENUTA_CONSEGNA
    assert d.errore is DaticertErrore.NESSUNO
    assert d.ricevuta is TipoRicevuta.COMPLETA
    assert d.consegna == "l.battistini@pec.it"
    assert d.msgid == OUR_MSGID
    # the identificativo is the one assigned at acceptance: it links the two receipts
    assert d.identificativo == "opec288.20181113163926.01838.310.1.63@pec.aruba.it"
    assert d.data == datetime(2018, 11, 13, 16, 39, 27, tzinfo=CET)


@pytest.mark.parametrize(
    ("eml", "oggetto", "identificativo", "msgid", "when"),
    [
        (
            "sdi_RC_ricevuta-di-consegna_6782414.eml",
            "Ricevuta di consegna 6782414 (SIMULAZIONE)",
            "opec288.20181113164732.05177.8374.1.1@pcert.sogei.it",
            "5168561142842364.1542124052746@pec.fatturapa.it",
            datetime(2018, 11, 13, 16, 47, 32, tzinfo=CET),
        ),
        (
            "sdi_invio-file_7339338_fattura-e-MT.eml",
            "Invio File 7339338 (SIMULAZIONE)",
            "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
            "4163125586355393.1544268377979@pec.fatturapa.it",
            datetime(2018, 12, 8, 12, 26, 18, tzinfo=CET),
        ),
        (
            "sdi_invio-file_7339338_broken-xml.eml",
            "Invio File 7339338 (SIMULAZIONE)",
            "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
            "4163125586355393.1544268377979@pec.fatturapa.it",
            datetime(2018, 12, 8, 12, 26, 18, tzinfo=CET),
        ),
        (
            "sdi_invio-file_7339338_p7m-base64.eml",
            "Invio File 7339338 (SIMULAZIONE)",
            "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
            "4163125586355393.1544268377979@pec.fatturapa.it",
            datetime(2018, 12, 8, 12, 26, 18, tzinfo=CET),
        ),
    ],
)
def test_sogei_transport_envelopes(
    eml: str, oggetto: str, identificativo: str, msgid: str, when: datetime
) -> None:
    d = parse_daticert(_daticert_of(eml))
    assert d.tipo is DaticertTipo.POSTA_CERTIFICATA
    assert d.errore is DaticertErrore.NESSUNO
    assert d.mittente == "sdi03@pec.fatturapa.it"
    assert d.risposte == "sdi03@pec.fatturapa.it"
    assert d.destinatari == (DaticertRecipient("l.battistini@pec.it", RecipientKind.CERTIFICATO),)
    assert d.gestore_emittente == "Sogei SpA"
    assert d.oggetto == oggetto
    assert d.identificativo == identificativo
    assert d.msgid == msgid
    assert d.ricevuta is TipoRicevuta.BREVE  # SdI asks for short delivery receipts
    assert d.data == when


# --- synthetic cases the reference set lacks --------------------------------------------------


def _synthetic(
    tipo: str,
    *,
    errore: str | None = "nessuno",
    destinatari: str = '<destinatari tipo="certificato">buyer@pec.example.it</destinatari>',
    dati_extra: str = "",
    zona: str = "+0200",
    giorno: str = "03/07/2024",
    ora: str = "09:15:02",
) -> bytes:
    errore_attr = f' errore="{errore}"' if errore is not None else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{tipo}"{errore_attr}>
  <intestazione>
    <mittente>us@pec.example.it</mittente>
    {destinatari}
    <risposte>us@pec.example.it</risposte>
    <oggetto>IT01234567890_00001.xml</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Provider PEC S.p.A.</gestore-emittente>
    <data zona="{zona}"><giorno>{giorno}</giorno><ora>{ora}</ora></data>
    <identificativo>opec1.2024@pec.example.it</identificativo>
    <msgid>&lt;our-id-1@pecora&gt;</msgid>
    {dati_extra}
  </dati>
</postacert>""".encode()


def test_non_accettazione() -> None:
    d = parse_daticert(
        _synthetic(
            "non-accettazione",
            errore="altro",
            dati_extra="<errore-esteso>Messaggio troppo grande</errore-esteso>",
        )
    )
    assert d.tipo is DaticertTipo.NON_ACCETTAZIONE
    assert d.errore is DaticertErrore.ALTRO
    assert d.errore_esteso == "Messaggio troppo grande"
    assert d.msgid == "our-id-1@pecora"
    assert d.data == datetime(2024, 7, 3, 9, 15, 2, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(
    ("errore", "expected"),
    [
        ("no-dest", DaticertErrore.NO_DEST),
        ("no-dominio", DaticertErrore.NO_DOMINIO),
        ("virus", DaticertErrore.VIRUS),
        ("altro", DaticertErrore.ALTRO),
    ],
)
def test_errore_consegna_codes(errore: str, expected: DaticertErrore) -> None:
    d = parse_daticert(
        _synthetic(
            "errore-consegna",
            errore=errore,
            dati_extra=(
                "<consegna>buyer@pec.example.it</consegna>"
                "<errore-esteso>5.1.1 - Aruba Pec S.p.A. - indirizzo non valido</errore-esteso>"
            ),
        )
    )
    assert d.tipo is DaticertTipo.ERRORE_CONSEGNA
    assert d.errore is expected
    assert d.consegna == "buyer@pec.example.it"
    assert d.errore_esteso == "5.1.1 - Aruba Pec S.p.A. - indirizzo non valido"


def test_presa_in_carico_with_ricezione_and_external_recipient() -> None:
    d = parse_daticert(
        _synthetic(
            "presa-in-carico",
            destinatari=(
                '<destinatari tipo="certificato">a@pec.example.it</destinatari>'
                '<destinatari tipo="esterno">b@gmail.example.com</destinatari>'
            ),
            dati_extra="<ricezione>a@pec.example.it</ricezione><ricezione>c@pec.x.it</ricezione>",
        )
    )
    assert d.tipo is DaticertTipo.PRESA_IN_CARICO
    assert d.destinatari == (
        DaticertRecipient("a@pec.example.it", RecipientKind.CERTIFICATO),
        DaticertRecipient("b@gmail.example.com", RecipientKind.ESTERNO),
    )
    assert d.ricezione == ("a@pec.example.it", "c@pec.x.it")


@pytest.mark.parametrize(
    ("tipo", "expected"),
    [
        ("preavviso-errore-consegna", DaticertTipo.PREAVVISO_ERRORE_CONSEGNA),
        ("rilevazione-virus", DaticertTipo.RILEVAZIONE_VIRUS),
        ("posta-certificata", DaticertTipo.POSTA_CERTIFICATA),
    ],
)
def test_other_types(tipo: str, expected: DaticertTipo) -> None:
    assert parse_daticert(_synthetic(tipo)).tipo is expected


def test_missing_errore_defaults_to_nessuno_and_ricevuta_to_completa() -> None:
    d = parse_daticert(_synthetic("avvenuta-consegna", errore=None, dati_extra="<ricevuta/>"))
    assert d.errore is DaticertErrore.NESSUNO
    assert d.ricevuta is TipoRicevuta.COMPLETA


@pytest.mark.parametrize(
    ("zona", "giorno", "ora", "expected"),
    [
        ("+0100", "01/01/2019", "00:00:00", datetime(2018, 12, 31, 23, 0, tzinfo=UTC)),
        ("-0530", "1/2/2020", "10:00:00", datetime(2020, 2, 1, 15, 30, tzinfo=UTC)),
        ("+02:00", "31/07/2021", "23:59:59", datetime(2021, 7, 31, 21, 59, 59, tzinfo=UTC)),
        ("+0000", "29/02/2024", "12:00", datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
    ],
)
def test_date_shapes(zona: str, giorno: str, ora: str, expected: datetime) -> None:
    data = parse_daticert(_synthetic("accettazione", zona=zona, giorno=giorno, ora=ora)).data
    assert data.tzinfo is not None
    assert data == expected


# --- broken and hostile input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "unreadable"),
        (b"\x00\x01\x02garbage", "unreadable"),
        (b"<postacert tipo='accettazione'>", "unreadable"),  # truncated
        (b"<html/>", "root"),
        (_synthetic("consegnata"), "tipo"),
        (_synthetic("accettazione", errore="boh"), "errore"),
        (_synthetic("accettazione", zona="CET"), "date"),
        (_synthetic("accettazione", giorno="2024-07-03"), "date"),
        (_synthetic("accettazione", giorno="31/02/2024"), "date"),
        (_synthetic("accettazione", ora="25:00:00"), "date"),
        (_synthetic("accettazione").replace(b"<mittente>us@pec.example.it</mittente>", b""), "mit"),
        (_synthetic("accettazione").replace(b"<identificativo>", b"<x>"), "unreadable"),
        (b"<postacert tipo='accettazione'><dati/></postacert>", "intestazione"),
    ],
)
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(MalformedDaticert, match=message):
        parse_daticert(data)


def test_hostile_xml_is_refused_with_cause() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE postacert [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<postacert tipo="accettazione"><intestazione><mittente>&g;</mittente></intestazione></postacert>"""
    with pytest.raises(MalformedDaticert) as info:
        parse_daticert(laughs)
    # libxml2 itself stops the amplification before xmlsafe sees the DOCTYPE, so the cause may
    # be either of the two xmlsafe errors; what matters is a clean, prompt refusal.
    assert isinstance(info.value.__cause__, xmlsafe.UnsafeXml | xmlsafe.MalformedXml)

    external = b"""<?xml version="1.0"?>
<!DOCTYPE postacert [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<postacert tipo="accettazione">&x;</postacert>"""
    with pytest.raises(MalformedDaticert) as info:
        parse_daticert(external)
    assert isinstance(info.value.__cause__, xmlsafe.UnsafeXml)


def test_oversized_is_refused() -> None:
    with pytest.raises(MalformedDaticert, match="too large"):
        parse_daticert(b"<postacert>" + b" " * 300_000 + b"</postacert>")


@settings(max_examples=200)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(MalformedDaticert):
        parse_daticert(data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<a@b>", "a@b"),
        (" <a@b>\r\n ", "a@b"),
        ("a@b", "a@b"),
        ("<>", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_message_id(raw: str | None, expected: str | None) -> None:
    assert normalize_message_id(raw) == expected
