"""SdI messages (domain.md §3): every reference file, both namespaces, leniency, hostile input,
and the EC builder validated against the official XSD."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from handlers.formats import xmlsafe
from handlers.formats.filenames import NotificationType, parse_notification_file_name
from handlers.formats.sdi import (
    ITALY,
    NS_B2B,
    NS_PA,
    AttestazioneTrasmissioneFattura,
    Destinatario,
    Errore,
    Esito,
    EsitoCommittente,
    MalformedSdiMessage,
    MetadatiInvioFile,
    NotificaDecorrenzaTermini,
    NotificaEsito,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    RiferimentoArchivio,
    RiferimentoFattura,
    Scarto,
    ScartoEsitoCommittente,
    SdiFlow,
    UnknownSdiMessage,
    build_esito_committente,
    ec_file_name,
    parse_sdi_date,
    parse_sdi_datetime,
    parse_sdi_message,
)
from tests.support.ref import ref_bytes, ref_path

CET = timezone(timedelta(hours=1))


def _ref(name: str) -> bytes:
    return ref_bytes("notifications", name)


# --- official PA-flow examples (TESTSDI), one per type -----------------------------------------


def test_pa_rc() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_RC_001.xml"))
    assert msg == RicevutaConsegna(
        flow=SdiFlow.PA,
        identificativo_sdi="111",
        message_id="123456",
        pec_message_id=None,
        note="Esempio",
        signed=False,  # official examples are unsigned (SOURCES.md)
        nome_file="IT01234567890_11111.xml.p7m",
        hash=None,
        data_ora_ricezione=datetime(2013, 6, 6, 12, 0, tzinfo=UTC),
        data_ora_consegna=datetime(2013, 6, 6, 12, 1, tzinfo=UTC),
        destinatario=Destinatario("AAA111", "Amministrazione di prova"),
        riferimento_archivio=None,
        intermediario_con_duplice_ruolo=True,
        flusso_semplificato=False,
    )
    assert msg.type is NotificationType.RC


def test_pa_ns() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_NS_001.xml"))
    assert isinstance(msg, NotificaScarto)
    assert msg.flow is SdiFlow.PA
    assert msg.identificativo_sdi == "111"
    assert msg.nome_file == "IT01234567890_11111.xml.p7m"
    assert msg.data_ora_ricezione == datetime(2013, 6, 6, 12, 0, tzinfo=UTC)
    assert msg.riferimento_archivio == RiferimentoArchivio("100", "IT01234567890_11111.zip")
    assert msg.errori == (Errore("00100", "Certificato di firma scaduto", None),)
    assert msg.message_id == "123456"
    assert msg.note == "Note"
    assert msg.type is NotificationType.NS


def test_pa_mc_zone_less_date_is_italian_time() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_MC_001.xml"))
    assert isinstance(msg, NotificaMancataConsegna)
    assert msg.nome_file == "IT01234567890_11111.xml.p7m"
    assert msg.descrizione == "Notifica di esempio"
    assert msg.data_messa_a_disposizione is None
    assert msg.hash is None
    # "2013-06-06T12:00:00" has no zone: read as Italian summer time, 10:00 UTC
    assert msg.data_ora_ricezione is not None
    assert msg.data_ora_ricezione.utcoffset() == timedelta(hours=2)
    assert msg.data_ora_ricezione == datetime(2013, 6, 6, 10, 0, tzinfo=UTC)


def test_pa_ne_wraps_the_ec() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_NE_001.xml"))
    assert isinstance(msg, NotificaEsito)
    assert msg.nome_file == "IT01234567890_11111.xml.p7m"
    assert msg.esito is Esito.EC01
    assert msg.intermediario_con_duplice_ruolo
    assert msg.message_id == "123456"
    assert msg.note == "Notifica di esito di esempio"
    ec = msg.esito_committente
    assert ec.identificativo_sdi == "111"
    assert ec.riferimento_fattura == RiferimentoFattura("1111", 2013, 2)
    assert ec.descrizione == "Notifica di esempio"
    assert ec.message_id_committente == "123456"
    assert ec.message_id is None  # the inner EC carries MessageIdCommittente only


def test_pa_ec() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_EC_001.xml"))
    assert msg == EsitoCommittente(
        flow=SdiFlow.PA,
        identificativo_sdi="111",
        message_id=None,
        pec_message_id=None,
        note=None,
        signed=False,
        riferimento_fattura=RiferimentoFattura("1111", 2013, 2),
        esito=Esito.EC01,
        descrizione="Esempio",
        message_id_committente="123456",
    )


def test_pa_se() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_SE_001.xml"))
    assert isinstance(msg, ScartoEsitoCommittente)
    assert msg.identificativo_sdi == "111"
    assert msg.scarto is Scarto.EN00
    assert msg.message_id == "123456"
    assert msg.message_id_committente == "123456"
    assert msg.riferimento_fattura is None


def test_pa_dt() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_DT_001.xml"))
    assert isinstance(msg, NotificaDecorrenzaTermini)
    assert msg.nome_file == "IT01234567890_11111.xml.p7m"
    assert msg.descrizione == "Notifica di esempio"
    assert msg.intermediario_con_duplice_ruolo
    assert msg.riferimento_fattura is None


def test_pa_at() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_AT_001.xml"))
    assert isinstance(msg, AttestazioneTrasmissioneFattura)
    assert msg.nome_file == "IT01234567890_11111.xml.p7m"
    assert msg.destinatario == Destinatario("AAAAAA", "Pubblica Amministrazione di prova")
    assert msg.hash_file_originale == (
        "2c1f3a240a056d9537a8608fed310812ef7b1b7a410d0152f5c9c9e93486ae44"
    )
    assert msg.data_ora_ricezione == datetime(2014, 4, 1, 12, 0, tzinfo=ITALY)
    assert msg.note == "Attestazione Trasmissione Fattura di prova"


def test_pa_mt_with_legacy_formato() -> None:
    msg = parse_sdi_message(_ref("IT01234567890_11111_MT_001.xml"))
    assert isinstance(msg, MetadatiInvioFile)
    assert msg.flow is SdiFlow.PA
    assert msg.codice_destinatario == "AAA111"
    assert msg.formato == "SDI10"
    assert msg.tentativi_invio == 1
    assert not msg.signed


# --- real B2B messages --------------------------------------------------------------------------


def test_real_b2b_rc_without_hash_and_with_empty_destinatario() -> None:
    msg = parse_sdi_message(_ref("IT03339130126_00009_RC_003.xml"))
    assert isinstance(msg, RicevutaConsegna)
    assert msg.flow is SdiFlow.B2B
    assert msg.identificativo_sdi == "6782414"
    assert msg.nome_file == "IT03339130126_00009.xml"
    assert msg.hash is None  # required by the B2B XSD, absent in reality (domain.md §3.2)
    assert msg.data_ora_ricezione == datetime(2018, 11, 13, 16, 47, 26, tzinfo=CET)
    assert msg.data_ora_consegna == datetime(2018, 11, 13, 16, 47, 32, tzinfo=CET)
    assert msg.data_ora_consegna.utcoffset() == timedelta(hours=1)  # the offset is kept
    assert msg.destinatario == Destinatario(None, None)
    assert msg.message_id == "1269788243"
    assert msg.pec_message_id is None
    assert msg.signed


def test_real_b2b_mc() -> None:
    msg = parse_sdi_message(_ref("IT14627831002_02621_MC_001.xml"))
    assert isinstance(msg, NotificaMancataConsegna)
    assert msg.flow is SdiFlow.B2B
    assert msg.identificativo_sdi == "141107829"
    assert msg.nome_file == "IT14627831002_02621.xml"
    assert msg.hash == "91e8b555478dfe9b2ea8fe6223e63ebcbc15f4f95a123d908de14fdb97228c1f"
    assert msg.data_ora_ricezione == datetime(2019, 1, 4, 20, 1, 5, tzinfo=CET)
    assert msg.data_messa_a_disposizione == date(2019, 1, 5)
    assert msg.descrizione is not None
    assert msg.descrizione.startswith("La fattura è disponibile in consultazione")
    assert "(Codice Destinatario: 0000000)" in msg.descrizione
    assert msg.message_id == "1122874802"
    assert msg.pec_message_id == "opec2891.20190104200105.26626.212.1.62@pec.aruba.it"
    assert msg.note is None  # <Note/> is empty
    assert msg.signed


def test_real_b2b_mt_without_hash_and_codice_destinatario() -> None:
    msg = parse_sdi_message(_ref("IT02652600210_00007_MT_002.xml"))
    assert msg == MetadatiInvioFile(
        flow=SdiFlow.B2B,
        identificativo_sdi="7339338",
        message_id="1809491993",
        pec_message_id=None,
        note=None,
        signed=False,
        nome_file="IT02652600210_00007.xml",
        hash=None,
        codice_destinatario=None,
        formato="FPR12",
        tentativi_invio=1,
    )


def test_every_reference_file_parses_to_the_type_its_name_says() -> None:
    for path in sorted(ref_path("notifications").iterdir()):
        msg = parse_sdi_message(path.read_bytes())
        assert msg.type is parse_notification_file_name(path.name).type, path.name
        # the message is about the invoice whose name prefixes the message name
        stem = parse_notification_file_name(path.name).invoice_stem
        if not isinstance(msg, EsitoCommittente | ScartoEsitoCommittente):
            assert msg.nome_file.startswith(stem + "."), path.name


# --- prefixes, default namespace, B2B synthetic ----------------------------------------------


def _rc_with(root_open: str, root_close: str, child_prefix: str = "") -> bytes:
    p = child_prefix
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{root_open}
  <{p}IdentificativoSdI>42</{p}IdentificativoSdI>
  <{p}NomeFile>IT01234567890_0000A.xml</{p}NomeFile>
  <{p}DataOraRicezione>2024-03-31T01:30:00</{p}DataOraRicezione>
  <{p}DataOraConsegna>2024-03-31T03:30:00.5</{p}DataOraConsegna>
  <{p}MessageId>9</{p}MessageId>
{root_close}""".encode()


@pytest.mark.parametrize(
    ("root_open", "root_close", "child_prefix"),
    [
        (f'<q1:RicevutaConsegna xmlns:q1="{NS_PA}" versione="1.0">', "</q1:RicevutaConsegna>", ""),
        (f'<RicevutaConsegna xmlns="{NS_PA}" versione="1.0">', "</RicevutaConsegna>", ""),
        (f'<x:RicevutaConsegna xmlns:x="{NS_PA}">', "</x:RicevutaConsegna>", "x:"),
    ],
)
def test_any_prefix_or_default_namespace(
    root_open: str, root_close: str, child_prefix: str
) -> None:
    msg = parse_sdi_message(_rc_with(root_open, root_close, child_prefix))
    assert isinstance(msg, RicevutaConsegna)
    assert msg.identificativo_sdi == "42"
    assert msg.nome_file == "IT01234567890_0000A.xml"
    assert msg.message_id == "9"
    # around the 2024 spring-forward: 01:30 is still CET, 03:30 is already CEST
    assert msg.data_ora_ricezione == datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    assert msg.data_ora_consegna == datetime(2024, 3, 31, 1, 30, 0, 500000, tzinfo=UTC)
    assert msg.destinatario is None


B2B_NS = f"""<?xml version="1.0" encoding="UTF-8"?>
<ns3:RicevutaScarto xmlns:ns3="{NS_B2B}" xmlns:ns2="http://www.w3.org/2000/09/xmldsig#"
    versione="1.0">
  <IdentificativoSdI>b2b-0001-ZZ</IdentificativoSdI>
  <NomeFile>IT01234567890_00002.xml.p7m</NomeFile>
  <Hash>{"ab" * 32}</Hash>
  <DataOraRicezione>2024-01-15T10:00:00.000+01:00</DataOraRicezione>
  <ListaErrori>
    <Errore><Codice>00404</Codice><Descrizione>Fattura duplicata</Descrizione>
      <Suggerimento>Verificare il numero</Suggerimento></Errore>
    <Errore><Codice>00423</Codice><Descrizione>PrezzoTotale errato</Descrizione>
      <Suggerimento/></Errore>
  </ListaErrori>
  <MessageId>777</MessageId>
  <PecMessageId>opec123@pec.example.it</PecMessageId>
  <ns2:Signature Id="Signature1"/>
</ns3:RicevutaScarto>""".encode()


def test_b2b_ricevuta_scarto_with_suggerimento_and_string_identificativo() -> None:
    msg = parse_sdi_message(B2B_NS)
    assert isinstance(msg, NotificaScarto)
    assert msg.flow is SdiFlow.B2B
    assert msg.identificativo_sdi == "b2b-0001-ZZ"  # B2B schema: string 1..36
    assert msg.hash == "ab" * 32
    assert msg.errori == (
        Errore("00404", "Fattura duplicata", "Verificare il numero"),
        Errore("00423", "PrezzoTotale errato", None),
    )
    assert msg.pec_message_id == "opec123@pec.example.it"
    assert msg.signed
    assert msg.type is NotificationType.NS


def test_b2b_impossibilita_recapito_and_file_metadati_map_to_mc_and_mt() -> None:
    mc = parse_sdi_message(
        f"""<m:RicevutaImpossibilitaRecapito xmlns:m="{NS_B2B}" versione="1.0">
        <IdentificativoSdI>5</IdentificativoSdI><NomeFile>IT01234567890_1.xml</NomeFile>
        <DataMessaADisposizione>2019-01-05+01:00</DataMessaADisposizione>
        <MessageId>1</MessageId></m:RicevutaImpossibilitaRecapito>""".encode()
    )
    assert isinstance(mc, NotificaMancataConsegna)
    assert mc.data_messa_a_disposizione == date(2019, 1, 5)
    mt = parse_sdi_message(
        f"""<FileMetadati xmlns="{NS_B2B}" versione="1.0">
        <IdentificativoSdI>6</IdentificativoSdI><NomeFile>IT01234567890_1.xml</NomeFile>
        <Hash>00</Hash><CodiceDestinatario>ABC1234</CodiceDestinatario><Formato>FPR12</Formato>
        <TentativiInvio>3</TentativiInvio><MessageId>2</MessageId></FileMetadati>""".encode()
    )
    assert isinstance(mt, MetadatiInvioFile)
    assert (mt.flow, mt.codice_destinatario, mt.tentativi_invio) == (SdiFlow.B2B, "ABC1234", 3)


# --- refusals -----------------------------------------------------------------------------------


def _pa(root: str, body: str) -> bytes:
    return f'<t:{root} xmlns:t="{NS_PA}" versione="1.0">{body}</t:{root}>'.encode()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_pa("RicevutaConsegna", "<NomeFile>a.xml</NomeFile>"), "IdentificativoSdI"),
        (_pa("RicevutaConsegna", "<IdentificativoSdI>1</IdentificativoSdI>"), "NomeFile"),
        (
            _pa("NotificaEsito", "<IdentificativoSdI>1</IdentificativoSdI><NomeFile>a</NomeFile>"),
            "EsitoCommittente",
        ),
        (_pa("NotificaEsitoCommittente", "<IdentificativoSdI>1</IdentificativoSdI>"), "Esito"),
        (
            _pa(
                "NotificaEsitoCommittente",
                "<IdentificativoSdI>1</IdentificativoSdI><Esito>EC03</Esito>",
            ),
            "EC01 or EC02",
        ),
        (
            _pa(
                "ScartoEsitoCommittente",
                "<IdentificativoSdI>1</IdentificativoSdI><Scarto>EN9</Scarto>",
            ),
            "EN00 or EN01",
        ),
        (
            _pa(
                "RicevutaConsegna",
                "<IdentificativoSdI>1</IdentificativoSdI><NomeFile>a</NomeFile>"
                "<DataOraRicezione>13/11/2018 16:47</DataOraRicezione>",
            ),
            "DataOraRicezione",
        ),
        (
            _pa(
                "MetadatiInvioFile",
                "<IdentificativoSdI>1</IdentificativoSdI><NomeFile>a</NomeFile>"
                "<TentativiInvio>due</TentativiInvio>",
            ),
            "TentativiInvio",
        ),
        (
            _pa(
                "NotificaDecorrenzaTermini",
                "<IdentificativoSdI>1</IdentificativoSdI><NomeFile>a</NomeFile>"
                "<RiferimentoFattura><NumeroFattura>1</NumeroFattura></RiferimentoFattura>",
            ),
            "AnnoFattura",
        ),
        (b"", "unreadable"),
        (b"\x00\x00\x00\x00", "unreadable"),
        (b"<?xml version='1.0'?>\x00<a/>", "unreadable"),
        (b'<t:RicevutaConsegna xmlns:t="' + NS_PA.encode() + b'"><Identif', "unreadable"),
    ],
)
def test_malformed(data: bytes, match: str) -> None:
    with pytest.raises(MalformedSdiMessage, match=match):
        parse_sdi_message(data)


def test_truncated_real_file_is_malformed() -> None:
    data = _ref("IT14627831002_02621_MC_001.xml")
    for cut in (10, len(data) // 2, len(data) - 5):
        with pytest.raises(MalformedSdiMessage):
            parse_sdi_message(data[:cut])


@pytest.mark.parametrize(
    "data",
    [
        # NE exists only in the PA flow
        f'<NotificaEsito xmlns="{NS_B2B}"><IdentificativoSdI>1</IdentificativoSdI>'
        "</NotificaEsito>".encode(),
        b"<RicevutaConsegna><IdentificativoSdI>1</IdentificativoSdI></RicevutaConsegna>",
        b'<x:RicevutaConsegna xmlns:x="urn:other"/>',
        b"<postacert tipo='accettazione'/>",
    ],
)
def test_unknown_roots(data: bytes) -> None:
    with pytest.raises(UnknownSdiMessage):
        parse_sdi_message(data)


def test_an_invoice_is_not_an_sdi_message() -> None:
    with pytest.raises(UnknownSdiMessage, match="FatturaElettronica"):
        parse_sdi_message(ref_bytes("invoices", "IT01234567890_FPA01.xml"))


def test_hostile_xml() -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + _pa(
        "RicevutaConsegna", "<IdentificativoSdI>&x;</IdentificativoSdI>"
    )
    with pytest.raises(MalformedSdiMessage) as info:
        parse_sdi_message(doctype)
    assert isinstance(info.value.__cause__, xmlsafe.UnsafeXml)

    lol = b'<!ENTITY l0 "lol">' + b"".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10)
    )
    laughs = b"<?xml version='1.0'?><!DOCTYPE r [" + lol + b"]><r>&l9;</r>"
    with pytest.raises(MalformedSdiMessage) as info:
        parse_sdi_message(laughs)
    assert isinstance(info.value.__cause__, xmlsafe.UnsafeXml | xmlsafe.MalformedXml)

    with pytest.raises(MalformedSdiMessage, match="too large"):
        parse_sdi_message(b"<a>" + b"x" * (3 * 1024 * 1024) + b"</a>")


@settings(max_examples=200)
@given(st.binary(max_size=1500))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(MalformedSdiMessage, UnknownSdiMessage):
        parse_sdi_message(data)


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=4000), st.binary(max_size=8))
def test_mutated_real_file_never_crashes(position: int, junk: bytes) -> None:
    data = bytearray(ref_bytes("notifications", "IT01234567890_11111_NS_001.xml"))
    data[position : position + len(junk)] = junk
    with contextlib.suppress(MalformedSdiMessage, UnknownSdiMessage):
        parse_sdi_message(bytes(data))


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "offset"),
    [
        ("2018-11-13T16:47:26.000+01:00", datetime(2018, 11, 13, 15, 47, 26, tzinfo=UTC), 1),
        ("2013-06-06T12:00:00Z", datetime(2013, 6, 6, 12, 0, tzinfo=UTC), 0),
        ("2014-04-01T12:00:00", datetime(2014, 4, 1, 10, 0, tzinfo=UTC), 2),
        ("2014-01-01T12:00:00", datetime(2014, 1, 1, 11, 0, tzinfo=UTC), 1),
        ("2020-02-01T10:00:00.123456789-05:30", datetime(2020, 2, 1, 15, 30, 0, 123456, UTC), -5.5),
    ],
)
def test_datetime_shapes(value: str, expected: datetime, offset: float) -> None:
    parsed = parse_sdi_datetime(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize("value", ["", "2018-11-13", "13/11/2018 10:00:00", "2018-13-01T00:00:00"])
def test_bad_datetimes(value: str) -> None:
    with pytest.raises(ValueError, match=r"xsd:dateTime|month"):
        parse_sdi_datetime(value)


def test_dates() -> None:
    assert parse_sdi_date("2019-01-05") == date(2019, 1, 5)
    assert parse_sdi_date("2019-01-05Z") == date(2019, 1, 5)
    with pytest.raises(ValueError, match="xsd:date"):
        parse_sdi_date("05/01/2019")


def test_italian_time_matches_tzdata() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        rome = zoneinfo.ZoneInfo("Europe/Rome")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tzdata on this system")
    start = datetime(2014, 1, 1)
    for hours in range(0, 24 * 366 * 12, 7):  # every 7 h over 12 years, both folds
        wall = start + timedelta(hours=hours)
        for fold in (0, 1):
            local = wall.replace(fold=fold)
            assert (
                local.replace(tzinfo=ITALY).utcoffset() == local.replace(tzinfo=rome).utcoffset()
            ), local


# --- EC builder ---------------------------------------------------------------------------------


class _NoNetwork(etree.Resolver):
    """Fail loudly if schema loading tries to fetch anything that is not a local file."""

    def resolve(self, system_url: str, public_id: str, context: object) -> None:
        if re.match(r"(?i)(https?|ftp)://", system_url or ""):
            raise AssertionError(f"schema loading tried the network: {system_url}")
        return None


@pytest.fixture(scope="module")
def messaggi_schema() -> etree.XMLSchema:
    path: Path = ref_path("xsd", "MessaggiTypes_v1.1.xsd")
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    parser.resolvers.add(_NoNetwork())
    return etree.XMLSchema(etree.parse(str(path), parser))


@pytest.mark.parametrize(
    ("riferimento", "esito", "descrizione", "message_id"),
    [
        (RiferimentoFattura("1111", 2013, 2), Esito.EC01, "Esempio", "123456"),
        (RiferimentoFattura("FT 2024/17-A", 2024), "EC02", "CIG mancante: rifiutata", "PA-1"),
        (None, "EC01", None, None),
        (None, Esito.EC02, "x" * 255, "A" * 14),
        (RiferimentoFattura("1", 0, 1), "EC02", "Città, «virgolette» & <tag>", None),
    ],
)
def test_built_ec_validates_and_round_trips(
    messaggi_schema: etree.XMLSchema,
    riferimento: RiferimentoFattura | None,
    esito: Esito | str,
    descrizione: str | None,
    message_id: str | None,
) -> None:
    data = build_esito_committente("6782414", riferimento, esito, descrizione, message_id)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    tree = etree.fromstring(data)
    assert messaggi_schema.validate(tree), messaggi_schema.error_log
    parsed = parse_sdi_message(data)
    assert parsed == EsitoCommittente(
        flow=SdiFlow.PA,
        identificativo_sdi="6782414",
        message_id=None,
        pec_message_id=None,
        note=None,
        signed=False,
        riferimento_fattura=riferimento,
        esito=Esito(esito),
        descrizione=descrizione,
        message_id_committente=message_id,
    )


def test_schema_fixture_really_rejects(messaggi_schema: etree.XMLSchema) -> None:
    # guard against a schema that accepts everything
    good = build_esito_committente(1, None, "EC01")
    assert messaggi_schema.validate(etree.fromstring(good))
    for bad in (good.replace(b"EC01", b"EC03"), good.replace(b'versione="1.0"', b"")):
        assert not messaggi_schema.validate(etree.fromstring(bad))
    assert messaggi_schema.validate(etree.fromstring(_ref("IT01234567890_11111_EC_001.xml")))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("abc", None, "EC01"), "IdentificativoSdI"),
        (("1234567890123", None, "EC01"), "IdentificativoSdI"),
        (("", None, "EC01"), "IdentificativoSdI"),
        ((1, None, "EC03"), "EC03"),
        ((1, RiferimentoFattura("", 2024), "EC01"), "NumeroFattura"),
        ((1, RiferimentoFattura("x" * 21, 2024), "EC01"), "NumeroFattura"),
        ((1, RiferimentoFattura("n°1", 2024), "EC01"), "NumeroFattura"),
        ((1, RiferimentoFattura("1\t2", 2024), "EC01"), "NumeroFattura"),
        ((1, RiferimentoFattura("1", -1), "EC01"), "AnnoFattura"),
        ((1, RiferimentoFattura("1", 2024, 0), "EC01"), "PosizioneFattura"),
        ((1, None, "EC02", "x" * 256), "Descrizione"),
        ((1, None, "EC02", ""), "Descrizione"),
        ((1, None, "EC02", "bad\x00char"), "Descrizione"),
        ((1, None, "EC02", None, "A" * 15), "MessageIdCommittente"),
    ],
)
def test_builder_refuses_what_the_xsd_would(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_esito_committente(*args)  # type: ignore[arg-type]


def test_ec_file_name() -> None:
    assert ec_file_name("IT01234567890_11111.xml.p7m", 1) == "IT01234567890_11111_EC_001.xml"
    assert ec_file_name("IT01234567890_11111.xml", 4) == "IT01234567890_11111_EC_004.xml"
    assert ec_file_name("IT01234567890_11111.xml", "00B") == "IT01234567890_11111_EC_00B.xml"
