"""PEC receipts and envelopes (domain.md §4): every reference .eml, synthetic receipts the
reference set lacks, byte-exactness of the signed content, and broken/hostile input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.formats.daticert import DaticertErrore, DaticertTipo, TipoRicevuta
from handlers.formats.pec import (
    MalformedPec,
    NotPec,
    PecKind,
    PecMessage,
    is_pec,
    parse_pec,
)
from handlers.formats.sdi import (
    MetadatiInvioFile,
    NotificaMancataConsegna,
    RicevutaConsegna,
    parse_sdi_message,
)
from tests.support.ref import ref_bytes, ref_path

CET = timezone(timedelta(hours=1))
OUR_MSGID = (
    "1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out"
    "@elbati-Vostro-3550"
)
ALL_EML = [
    "accettazione_IT03339130126_00009.eml",
    "avvenuta-consegna_IT03339130126_00009.eml",
    "sdi_MC_mancata-consegna_141107829.eml",
    "sdi_RC_ricevuta-di-consegna_6782414.eml",
    "sdi_invio-file_7339338_broken-xml.eml",
    "sdi_invio-file_7339338_fattura-e-MT.eml",
    "sdi_invio-file_7339338_p7m-base64.eml",
]


def _eml(name: str) -> bytes:
    return ref_bytes("pec", name)


def _parse(name: str) -> PecMessage:
    return parse_pec(_eml(name))


def test_reference_set_is_the_one_we_test() -> None:
    assert sorted(p.name for p in ref_path("pec").iterdir()) == ALL_EML


# --- Aruba receipts -----------------------------------------------------------------------------


def test_accettazione() -> None:
    msg = _parse("accettazione_IT03339130126_00009.eml")
    assert msg.kind is PecKind.ACCETTAZIONE
    assert msg.kind.is_receipt
    assert msg.message_id == "opec288.20181113163926.01838.310.1.358.63@pec.aruba.it"
    assert msg.riferimento_message_id == OUR_MSGID
    assert msg.from_address == "posta-certificata@pec.aruba.it"
    assert msg.mittente == "l.battistini@pec.it"  # the original sender: us
    assert msg.date == datetime(2018, 11, 13, 16, 39, 26, tzinfo=CET)
    assert msg.tipo_ricevuta is None
    assert msg.postacert is None  # an acceptance receipt carries no copy of the message
    assert msg.daticert is not None
    assert msg.daticert.tipo is DaticertTipo.ACCETTAZIONE
    assert msg.daticert.msgid == msg.riferimento_message_id
    assert msg.daticert.identificativo == "opec288.20181113163926.01838.310.1.63@pec.aruba.it"
    assert msg.daticert_xml is not None
    assert msg.daticert_xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<postacert')


def test_avvenuta_consegna_completa_contains_the_sent_invoice() -> None:
    msg = _parse("avvenuta-consegna_IT03339130126_00009.eml")
    assert msg.kind is PecKind.AVVENUTA_CONSEGNA
    assert msg.riferimento_message_id == OUR_MSGID
    assert msg.message_id == "opec288.20181113163927.28978.421.1.413.72@pec.aruba.it"
    assert msg.daticert is not None
    assert msg.daticert.ricevuta is TipoRicevuta.COMPLETA
    assert msg.daticert.consegna == "l.battistini@pec.it"
    inner = msg.postacert
    assert inner is not None
    # the original's Message-ID is the provider identificativo (domain.md §4.2)
    assert inner.message_id == msg.daticert.identificativo
    assert inner.riferimento_message_id == OUR_MSGID
    assert inner.subject == "IT03339130126_00009.xml"
    assert inner.date == datetime(2018, 11, 13, 15, 39, 26, tzinfo=UTC)  # "-0000"
    assert [a.filename for a in inner.attachments] == ["IT03339130126_00009.xml"]
    invoice = inner.attachments[0].content
    assert invoice.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert invoice.rstrip().endswith(b"FatturaElettronica>")
    assert len(invoice) == 2126


# --- SdI transport envelopes ------------------------------------------------------------------


def test_sdi_rc_envelope() -> None:
    msg = _parse("sdi_RC_ricevuta-di-consegna_6782414.eml")
    assert msg.kind is PecKind.POSTA_CERTIFICATA
    assert msg.kind.is_envelope
    assert msg.from_address == "posta-certificata@pcert.sogei.it"
    assert msg.reply_to == "sdi03@pec.fatturapa.it"
    assert msg.mittente == "sdi03@pec.fatturapa.it"
    assert msg.tipo_ricevuta is TipoRicevuta.BREVE  # header spelled "X-Tiporicevuta"
    assert msg.message_id == "opec288.20181113164732.05177.8374.1.1@pcert.sogei.it"
    assert msg.riferimento_message_id == "5168561142842364.1542124052746@pec.fatturapa.it"
    assert msg.daticert is not None
    assert msg.daticert.tipo is DaticertTipo.POSTA_CERTIFICATA
    inner = msg.postacert
    assert inner is not None
    assert inner.from_address == "sdi03@pec.fatturapa.it"
    assert inner.to == ("l.battistini@pec.it",)
    assert [a.filename for a in inner.attachments] == ["IT03339130126_00009_RC_003.xml"]
    # quoted-printable undone byte for byte: identical to the extracted reference file
    rc = inner.attachments[0].content
    assert rc == ref_bytes("notifications", "IT03339130126_00009_RC_003.xml")
    parsed = parse_sdi_message(rc)
    assert isinstance(parsed, RicevutaConsegna)
    assert parsed.identificativo_sdi == "6782414"
    assert inner.text is not None
    assert "IT03339130126_00009.xml" in inner.text


def test_sdi_mc_envelope_without_daticert() -> None:
    msg = _parse("sdi_MC_mancata-consegna_141107829.eml")
    assert msg.kind is PecKind.POSTA_CERTIFICATA
    assert msg.daticert is None  # removed by OCA (SOURCES.md): optional
    assert msg.daticert_xml is None
    assert msg.mittente == "sdi48@pec.fatturapa.it"  # falls back to Reply-To
    assert msg.riferimento_message_id == "29868973923542086.1546634040973@pec.fatturapa.it"
    assert msg.date == datetime(2019, 1, 4, 21, 34, 1, tzinfo=CET)
    inner = msg.postacert
    assert inner is not None
    assert inner.subject == "Notifica di mancata consegna 141107829"
    mc = inner.attachment("IT14627831002_02621_MC_001.xml")
    assert mc is not None
    assert mc.content == ref_bytes("notifications", "IT14627831002_02621_MC_001.xml")
    parsed = parse_sdi_message(mc.content)
    assert isinstance(parsed, NotificaMancataConsegna)
    assert parsed.identificativo_sdi == "141107829"
    # the text part announces the SdI address to use from now on (domain.md §4.1)
    assert inner.text is not None
    assert re.search(r"e' (sdi\d+@pec\.fatturapa\.it)", inner.text)
    assert "sdi48@pec.fatturapa.it" in inner.text


@pytest.mark.parametrize(
    "name", ["sdi_invio-file_7339338_fattura-e-MT.eml", "sdi_invio-file_7339338_broken-xml.eml"]
)
def test_sdi_incoming_invoice_envelope(name: str) -> None:
    msg = _parse(name)
    assert msg.kind is PecKind.POSTA_CERTIFICATA
    assert msg.mittente == "sdi03@pec.fatturapa.it"
    assert msg.riferimento_message_id == "4163125586355393.1544268377979@pec.fatturapa.it"
    assert msg.subject == "POSTA CERTIFICATA: Invio File 7339338 (SIMULAZIONE)"
    inner = msg.postacert
    assert inner is not None
    assert [a.filename for a in inner.attachments] == [
        "IT02652600210_00007_MT_002.xml",
        "IT02652600210_00007.xml",
    ]
    mt = inner.attachments[0].content
    assert mt == ref_bytes("notifications", "IT02652600210_00007_MT_002.xml")
    parsed = parse_sdi_message(mt)
    assert isinstance(parsed, MetadatiInvioFile)
    assert parsed.nome_file == "IT02652600210_00007.xml"
    invoice = inner.attachments[1].content
    assert invoice.startswith(b'<?xml version="1.0" encoding="UTF-8"?><ns1:Fattura')
    assert invoice.endswith(b"</ns1:FatturaElettronica>")
    broken = b"<ns1:Fattura Elettronica" in invoice
    assert broken == ("broken" in name)  # the envelope parses either way; the XML is not ours


def test_sdi_envelope_with_base64_p7m_sent_as_7bit() -> None:
    msg = _parse("sdi_invio-file_7339338_p7m-base64.eml")
    inner = msg.postacert
    assert inner is not None
    names = [a.filename for a in inner.attachments]
    assert names == ["IT02652600210_00007_MT_002.xml", "IT01234567890_FPR04.xml.p7m"]
    p7m = inner.attachments[1].content
    # no Content-Transfer-Encoding: the bytes are base64 text (a "base64 p7m"), kept as is
    assert p7m.startswith(b"MIIkBgYJKoZIhvcNAQcCoIIj9zCCI/MCAQEx")
    assert base64.b64decode(p7m)[:2] == b"\x30\x82"
    assert hashlib.sha256(p7m).hexdigest() == (
        "1172a95c1c68066538d6a728c4fdce34f3e235d7d8e26ad2994d184f3f24ba4c"
    )
    # Trap: here the MT *content* names the p7m while the MT *file name* keeps the old stem,
    # so MT <-> invoice must be matched on NomeFile, not on the MT file name.
    mt = parse_sdi_message(inner.attachments[0].content)
    assert isinstance(mt, MetadatiInvioFile)
    assert mt.nome_file == "IT01234567890_FPR04.xml.p7m"


@pytest.mark.parametrize("name", ALL_EML)
def test_every_reference_message_is_pec_and_signed(name: str) -> None:
    raw = _eml(name)
    assert is_pec(raw)
    msg = parse_pec(raw)
    assert msg.signature is not None
    assert msg.signature[:1] == b"\x30"  # DER SEQUENCE (smime.p7s base64 undone)
    assert cms.ContentInfo.load(msg.signature)["content_type"].native == "signed_data"
    assert msg.signed_content is not None
    assert msg.signed_content.startswith(b"Content-Type: multipart/mixed;")
    assert msg.signed_content in raw  # cut from the original bytes, not regenerated
    if msg.postacert is not None:
        assert msg.postacert.raw in raw  # 7bit postacert.eml: exact bytes


def _digest_matches(content: bytes, signature: bytes) -> bool:
    """Compare the S/MIME messageDigest attribute with the digest of the CRLF-canonical content."""
    signer = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    algorithm = signer["digest_algorithm"]["algorithm"].native
    wanted = next(
        a["values"][0].native
        for a in signer["signed_attrs"]
        if a["type"].native == "message_digest"
    )
    canonical = re.sub(rb"\r?\n", b"\r\n", content)
    return bool(hashlib.new(algorithm, canonical).digest() == wanted)


@pytest.mark.parametrize(
    "name", ["accettazione_IT03339130126_00009.eml", "avvenuta-consegna_IT03339130126_00009.eml"]
)
def test_signed_content_is_byte_exact(name: str) -> None:
    # The Aruba receipts still verify (domain.md §4.2): their digest matches what we cut out.
    msg = _parse(name)
    assert msg.signed_content is not None
    assert msg.signature is not None
    assert _digest_matches(msg.signed_content, msg.signature)
    tampered = msg.signed_content.replace(b"l.battistini", b"l.battistinx", 1)
    assert not _digest_matches(tampered, msg.signature)


def test_kind_never_comes_from_the_subject() -> None:
    raw = _eml("sdi_RC_ricevuta-di-consegna_6782414.eml").replace(
        b"Subject: POSTA CERTIFICATA: Ricevuta di consegna",
        b"Subject: ACCETTAZIONE: AVVISO DI MANCATA CONSEGNA: POSTA CERTIFICATA:",
        1,
    )
    msg = parse_pec(raw)
    assert msg.kind is PecKind.POSTA_CERTIFICATA
    assert msg.subject is not None
    assert msg.subject.startswith("ACCETTAZIONE:")


# --- synthetic receipts -------------------------------------------------------------------------

NL = b"\r\n"


def _daticert(tipo: str, errore: str = "nessuno", extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{tipo}" errore="{errore}">
  <intestazione>
    <mittente>us@pec.example.it</mittente>
    <destinatari tipo="certificato">sdi01@pec.fatturapa.it</destinatari>
    <risposte>us@pec.example.it</risposte>
    <oggetto>IT01234567890_00001.xml</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Provider PEC S.p.A.</gestore-emittente>
    <data zona="+0200"><giorno>03/07/2024</giorno><ora>09:15:02</ora></data>
    <identificativo>opec1.2024@pec.example.it</identificativo>
    <msgid>&lt;our-1@pecora&gt;</msgid>{extra}
  </dati>
</postacert>
""".encode()


def _part(headers: list[str], body: bytes) -> bytes:
    return NL.join(h.encode() for h in headers) + NL + NL + body


def _multipart(ctype: str, boundary: str, parts: list[bytes], *, close: bool = True) -> bytes:
    out = f'Content-Type: {ctype}; boundary="{boundary}"'.encode() + NL + NL
    out += b"preamble" + NL
    for part in parts:
        out += b"--" + boundary.encode() + NL + part + NL
    if close:
        out += b"--" + boundary.encode() + b"--" + NL
    return out


SIG = base64.encodebytes(b"\x30\x03\x02\x01\x01")


def _message(
    top_headers: list[str],
    *,
    daticert: bytes | None,
    postacert: bytes | None = None,
    signed: bool = True,
    close: bool = True,
) -> bytes:
    mixed_parts = [
        _part(
            ["Content-Type: text/plain; charset=iso-8859-1"],
            "Ricevuta di prova àè".encode("latin-1"),
        )
    ]
    if daticert is not None:
        mixed_parts.append(
            _part(
                [
                    'Content-Type: application/xml; name="daticert.xml"',
                    'Content-Disposition: inline; filename="daticert.xml"',
                    "Content-Transfer-Encoding: base64",
                ],
                base64.encodebytes(daticert).replace(b"\n", NL),
            )
        )
    if postacert is not None:
        mixed_parts.append(
            _part(
                [
                    'Content-Type: message/rfc822; name="postacert.eml"',
                    'Content-Disposition: inline; filename="postacert.eml"',
                ],
                postacert,
            )
        )
    mixed = _multipart("multipart/mixed", "mixed-b0undary", mixed_parts)
    head = NL.join(h.encode() for h in top_headers) + NL
    if not signed:
        return head + mixed
    sig_part = _part(
        [
            'Content-Type: application/pkcs7-signature; name="smime.p7s"',
            "Content-Transfer-Encoding: base64",
        ],
        SIG,
    )
    body = _multipart(
        'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256',
        "sig-b0undary",
        [mixed, sig_part],
        close=close,
    )
    return head + body


def _receipt(kind: str, errore: str = "nessuno", extra: str = "", **kw: object) -> bytes:
    return _message(
        [
            f"X-Ricevuta: {kind}",
            "X-Riferimento-Message-ID: <our-1@pecora>",
            "Message-ID: <opec2.2024@pec.example.it>",
            "From: posta-certificata@pec.example.it",
            "Subject: =?iso-8859-1?Q?AVVISO_DI_NON_ACCETTAZIONE=3A_fattura_=E0?=",
            "Date: Wed, 3 Jul 2024 09:15:02 +0200",
        ],
        daticert=_daticert(kind, errore, extra),
        **kw,  # type: ignore[arg-type]
    )


def test_synthetic_non_accettazione_with_crlf() -> None:
    msg = parse_pec(
        _receipt(
            "non-accettazione", "altro", "<errore-esteso>Messaggio troppo grande</errore-esteso>"
        )
    )
    assert msg.kind is PecKind.NON_ACCETTAZIONE
    assert msg.riferimento_message_id == "our-1@pecora"
    assert msg.subject == "AVVISO DI NON ACCETTAZIONE: fattura à"  # RFC 2047 decoded
    assert msg.daticert is not None
    assert msg.daticert.errore is DaticertErrore.ALTRO
    assert msg.daticert.errore_esteso == "Messaggio troppo grande"
    assert msg.signature == b"\x30\x03\x02\x01\x01"
    assert msg.signed_content is not None
    assert msg.signed_content.startswith(
        b'Content-Type: multipart/mixed; boundary="mixed-b0undary"'
    )
    assert msg.signed_content.endswith(b"--mixed-b0undary--\r\n")


@pytest.mark.parametrize(
    ("kind", "errore", "expected"),
    [
        ("errore-consegna", "no-dest", PecKind.ERRORE_CONSEGNA),
        ("errore-consegna", "no-dominio", PecKind.ERRORE_CONSEGNA),
        ("errore-consegna", "virus", PecKind.ERRORE_CONSEGNA),
        ("preavviso-errore-consegna", "altro", PecKind.PREAVVISO_ERRORE_CONSEGNA),
        ("rilevazione-virus", "virus", PecKind.RILEVAZIONE_VIRUS),
        ("presa-in-carico", "nessuno", PecKind.PRESA_IN_CARICO),
    ],
)
def test_synthetic_failure_receipts(kind: str, errore: str, expected: PecKind) -> None:
    extra = (
        "<consegna>sdi01@pec.fatturapa.it</consegna>"
        "<errore-esteso>5.1.1 - utente sconosciuto</errore-esteso>"
    )
    msg = parse_pec(_receipt(kind, errore, extra))
    assert msg.kind is expected
    assert msg.daticert is not None
    assert msg.daticert.errore is DaticertErrore(errore)
    assert msg.daticert.consegna == "sdi01@pec.fatturapa.it"
    assert msg.daticert.errore_esteso == "5.1.1 - utente sconosciuto"
    assert msg.daticert.data == datetime(2024, 7, 3, 7, 15, 2, tzinfo=UTC)


def test_errore_consegna_breve_with_hostile_attachment_names_and_encodings() -> None:
    inner = _multipart(
        "multipart/mixed",
        "inner",
        [
            _part(
                ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
                "Corpo è".encode(),
            ),
            _part(
                [
                    'Content-Type: application/octet-stream; name="../../etc/passwd"',
                    'Content-Disposition: attachment; filename="../../etc/passwd"',
                    "Content-Transfer-Encoding: base64",
                ],
                base64.encodebytes(b"\x00\x01binary\xff"),
            ),
            _part(
                [
                    "Content-Type: application/xml",
                    "Content-Disposition: attachment; filename*=UTF-8''fattura%20%C3%A8.xml",
                    "Content-Transfer-Encoding: quoted-printable",
                ],
                b"<a>=C3=A8 soft=\r\nbreak</a>",
            ),
            _part(
                [
                    'Content-Type: application/pdf; name="=?utf-8?B?QzpcZXZpbFxjb3Bpw6AucGRm?="',
                    "Content-Transfer-Encoding: 7bit",
                ],
                b"%PDF-1.4",
            ),
            _part(["Content-Type: application/octet-stream"], b"nameless"),
        ],
    )
    postacert = (
        b"From: us@pec.example.it\r\nTo: sdi01@pec.fatturapa.it\r\nSubject: IT01234567890_00001.xml"
        b"\r\nMessage-ID: <opec1.2024@pec.example.it>\r\nMIME-Version: 1.0\r\n" + inner
    )
    msg = parse_pec(_receipt("errore-consegna", "no-dest", postacert=postacert))
    assert msg.postacert is not None
    assert msg.postacert.raw == postacert
    assert msg.postacert.text == "Corpo è"
    got = [(a.filename, a.original_filename, a.content) for a in msg.postacert.attachments]
    assert got == [
        ("passwd", "../../etc/passwd", b"\x00\x01binary\xff"),
        ("fattura è.xml", "fattura è.xml", "<a>è soft".encode() + b"break</a>"),
        ("copià.pdf", "C:\\evil\\copià.pdf", b"%PDF-1.4"),
        ("part-4", None, b"nameless"),
    ]


def test_forwarded_message_inside_postacert_is_one_eml_attachment() -> None:
    forwarded = b"From: c@example.com\r\nSubject: old\r\n\r\nold body\r\n"
    inner = _multipart(
        "multipart/mixed",
        "fw",
        [
            _part(["Content-Type: text/plain"], b"see below"),
            _part(['Content-Type: message/rfc822; name="old.eml"'], forwarded),
        ],
    )
    postacert = b"From: us@pec.example.it\r\nMIME-Version: 1.0\r\n" + inner
    msg = parse_pec(_receipt("avvenuta-consegna", postacert=postacert))
    assert msg.postacert is not None
    assert msg.postacert.text == "see below"
    [attachment] = msg.postacert.attachments
    assert (attachment.filename, attachment.content_type) == ("old.eml", "message/rfc822")
    assert b"Subject: old" in attachment.content
    assert b"old body" in attachment.content


def test_anomaly_envelope() -> None:
    raw = _message(
        ["X-Trasporto: errore", "Subject: ANOMALIA MESSAGGIO: ciao", "Reply-To: x@gmail.example"],
        daticert=None,
        postacert=b"From: x@gmail.example\r\nSubject: ciao\r\n\r\nhello\r\n",
    )
    msg = parse_pec(raw)
    assert msg.kind is PecKind.ANOMALIA
    assert msg.kind.is_envelope
    assert not msg.kind.is_receipt
    assert msg.mittente == "x@gmail.example"
    assert msg.postacert is not None
    assert msg.postacert.text == "hello\r\n"


def test_unsigned_pec_parses_without_signature() -> None:
    msg = parse_pec(_receipt("accettazione", signed=False))
    assert msg.kind is PecKind.ACCETTAZIONE
    assert msg.signature is None
    assert msg.signed_content is None
    assert msg.daticert is not None


# --- refusals -----------------------------------------------------------------------------------

PLAIN_MAIL = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: ACCETTAZIONE: hi\r\n\r\nhello\r\n"
)


@pytest.mark.parametrize(
    "raw",
    [PLAIN_MAIL, b"", b"\x00" * 100, b"\xff\xfe garbage", b"X-Ricevuta: ciao\r\n\r\n", b"\r\n\r\n"],
)
def test_not_pec(raw: bytes) -> None:
    assert not is_pec(raw)
    with pytest.raises(MalformedPec):
        parse_pec(raw)


def test_plain_mail_is_notpec() -> None:
    with pytest.raises(NotPec):
        parse_pec(PLAIN_MAIL)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (
            _receipt("accettazione").replace(
                b"X-Ricevuta: accettazione", b"X-Ricevuta: consegnata"
            ),
            "X-Ricevuta",
        ),
        (b"X-Trasporto: posta-certificata\r\nX-Ricevuta: accettazione\r\n\r\n", "both"),
        (b"X-Trasporto: boh\r\n\r\n", "X-Trasporto"),
        (b"X-Ricevuta: accettazione\r\nX-Ricevuta: avvenuta-consegna\r\n\r\n", "conflicting"),
        (
            _receipt("accettazione").replace(
                b"X-Ricevuta: accettazione", b"X-Ricevuta: avvenuta-consegna"
            ),
            "contradicts",
        ),
        (_receipt("accettazione", close=False), "not closed"),
        (
            _message(["X-Trasporto: posta-certificata"], daticert=_daticert("posta-certificata")),
            "postacert",
        ),
        (
            _message(["X-Ricevuta: accettazione"], daticert=b"<postacert tipo='accettazione'>"),
            "daticert",
        ),
        (
            _message(
                ["X-Ricevuta: accettazione"],
                daticert=b'<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><postacert>&x;</postacert>',
            ),
            "daticert",
        ),
        (
            b"X-Ricevuta: accettazione\r\nContent-Type: multipart/signed; boundary=zz\r\n\r\n"
            b"no parts",
            "no delimiter",
        ),
        (
            b"X-Ricevuta: accettazione\r\nContent-Type: multipart/signed\r\n\r\n--x\r\n\r\n--x--",
            "boundary",
        ),
        (
            _receipt("accettazione").replace(
                b"application/pkcs7-signature; name", b"text/plain; name"
            ),
            "signature part",
        ),
        (_receipt("accettazione").replace(SIG, b"!!not base64!!\r\n"), "base64"),
        (
            _receipt("accettazione").replace(
                b"X-Riferimento", b"X-Tiporicevuta: lunga\r\nX-Riferimento"
            ),
            "X-TipoRicevuta",
        ),
    ],
)
def test_malformed_pec(raw: bytes, match: str) -> None:
    with pytest.raises(MalformedPec, match=match):
        parse_pec(raw)


@pytest.mark.parametrize("name", ALL_EML)
def test_truncated_reference_messages_are_refused(name: str) -> None:
    raw = _eml(name)
    for fraction in (0.2, 0.5, 0.8, 0.99):
        cut = raw[: int(len(raw) * fraction)]
        assert is_pec(cut)  # headers survive...
        with pytest.raises(MalformedPec):  # ...but the message is refused, not half-read
            parse_pec(cut)


def test_nul_bytes_inside_a_real_message() -> None:
    raw = _eml("accettazione_IT03339130126_00009.eml")
    spoiled = raw.replace(b"ARUBA PEC", b"ARUBA\x00PEC")  # inside base64: no effect
    assert parse_pec(spoiled).kind is PecKind.ACCETTAZIONE
    with pytest.raises(MalformedPec):
        parse_pec(raw.replace(b"PD94bWwg", b"PD94\x00bWwg", 1))  # daticert base64 now invalid


def test_large_garbage_does_not_hang() -> None:
    raw = (
        b"X-Ricevuta: accettazione\r\nContent-Type: multipart/signed; boundary=b\r\n\r\n"
        + b"--b\r\n" * 200_000
        + b"-" * 2_000_000
    )
    started = time.monotonic()
    with pytest.raises(MalformedPec):
        parse_pec(raw)
    assert time.monotonic() - started < 10


def test_too_large_is_refused() -> None:
    with pytest.raises(MalformedPec, match="too large"):
        parse_pec(b"X-Ricevuta: accettazione\r\n\r\n" + b"x" * (64 * 1024 * 1024))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(ALL_EML),
    st.floats(min_value=0, max_value=1),
    st.binary(min_size=1, max_size=16),
)
def test_mutated_reference_messages_never_crash(name: str, where: float, junk: bytes) -> None:
    raw = bytearray(_eml(name))
    position = int(where * (len(raw) - 1))
    raw[position : position + len(junk)] = junk
    with contextlib.suppress(MalformedPec):
        parse_pec(bytes(raw))
    is_pec(bytes(raw))


@settings(max_examples=200)
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(MalformedPec):
        parse_pec(b"X-Trasporto: posta-certificata\r\n" + data)
    assert isinstance(is_pec(data), bool)
