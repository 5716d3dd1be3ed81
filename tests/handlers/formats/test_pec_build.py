"""PEC builders cross-checked against the real Aruba/Sogei messages in ../shared/ref/pec.

For each kind with a real sample, the built message must parse (`parse_pec`) to the same kind,
receipt flavour, header set, MIME tree, daticert shape and Message-ID correlations as the real
one; every built message must verify (`smime.verify`) against the sandbox CA and fail after a
one-byte change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
from email.message import Message

import pytest

from handlers.formats import smime
from handlers.formats.daticert import DaticertErrore, TipoRicevuta, parse_daticert
from handlers.formats.mime_raw import LENIENT_POLICY
from handlers.formats.pec import PecKind, PecMessage, parse_pec
from handlers.formats.pec_build import (
    PecProvider,
    accettazione,
    anomaly_envelope,
    avvenuta_consegna,
    certified_original,
    daticert_xml,
    errore_consegna,
    non_accettazione,
    opec_identifier,
    preavviso_errore_consegna,
    transport_envelope,
)
from handlers.formats.sandbox_pki import SANDBOX_ORGANIZATION, make_sandbox_pki
from handlers.formats.sig_common import Failure
from handlers.formats.trust import TrustStore
from tests.support.ref import ref_bytes

WHEN = dt.datetime(2018, 11, 13, 15, 39, 26, tzinfo=dt.UTC)
SENDER = "l.battistini@pec.it"
ORIGINAL = (
    b"Content-Type: multipart/mixed; boundary=\"===============3780602758959172333==\"\r\n"
    b"MIME-Version: 1.0\r\nSubject: IT03339130126_00009.xml\r\nFrom: l.battistini@pec.it\r\n"
    b"Reply-To: l.battistini@pec.it\r\nTo: sdi01@pec.fatturapa.it\r\n"
    b"Date: Tue, 13 Nov 2018 15:39:26 -0000\r\n"
    b"Message-ID: <1542123565.9215-openerp-fatturapa@elbati-Vostro-3550>\r\n\r\n"
    b"--===============3780602758959172333==\r\nContent-Type: application/octet-stream; "
    b"name=\"IT03339130126_00009.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"PD94bWwgdmVyc2lvbj0iMS4wIj8+PGEvPg==\r\n--===============3780602758959172333==--\r\n"
)
ORIGINAL_ID = "1542123565.9215-openerp-fatturapa@elbati-Vostro-3550"
# Headers added in transit (delivery, the mailbox's provider): not part of what is built.
TRANSIT = {"return-path", "delivered-to", "received", "x-fattura-pa"}


@pytest.fixture(scope="module")
def aruba() -> tuple[PecProvider, TrustStore]:
    ca, signer = make_sandbox_pki("ARUBA PEC", email="posta-certificata@pec.aruba.test")
    return PecProvider("ARUBA PEC S.p.A.", "pec.aruba.test", signer), TrustStore.from_bytes([ca])


def _ids(serial: int) -> dict[str, object]:
    return {"message_id": opec_identifier("pec.aruba.test", WHEN, serial, node=serial),
            "identificativo": opec_identifier("pec.aruba.test", WHEN, 63), "when": WHEN}


def _built(kind: str, provider: PecProvider) -> bytes:
    ids = _ids(358)
    if kind == "accettazione":
        return accettazione(ORIGINAL, provider, **ids)  # type: ignore[arg-type]
    if kind == "avvenuta-consegna":
        return avvenuta_consegna(ORIGINAL, provider, consegna="sdi01@pec.fatturapa.it",
                                 **ids)  # type: ignore[arg-type]
    if kind == "non-accettazione":
        return non_accettazione(ORIGINAL, provider, errore=DaticertErrore.ALTRO,
                                errore_esteso="Messaggio troppo grande", **ids)  # type: ignore[arg-type]
    if kind == "errore-consegna":
        return errore_consegna(ORIGINAL, provider, consegna="sdi01@pec.fatturapa.it",
                               errore=DaticertErrore.NO_DEST,
                               errore_esteso="5.1.1 - indirizzo non valido", **ids)  # type: ignore[arg-type]
    if kind == "preavviso-errore-consegna":
        return preavviso_errore_consegna(ORIGINAL, provider, consegna="sdi01@pec.fatturapa.it",
                                         **ids)  # type: ignore[arg-type]
    if kind == "posta-certificata":
        return transport_envelope(ORIGINAL, provider, identificativo=str(ids["identificativo"]),
                                  when=WHEN)
    assert kind == "errore"
    return anomaly_envelope(ORIGINAL, provider, message_id=str(ids["message_id"]), when=WHEN)


KINDS = ["accettazione", "avvenuta-consegna", "non-accettazione", "errore-consegna",
         "preavviso-errore-consegna", "posta-certificata", "errore"]


def _tree(raw: bytes) -> list[tuple[int, str, str | None]]:
    """Content-type tree down to postacert.eml (its inside is the original's business)."""
    out: list[tuple[int, str, str | None]] = []

    def walk(part: Message, depth: int) -> None:
        ctype = part.get_content_type().replace("x-pkcs7", "pkcs7")  # legacy spelling, §4.2
        out.append((depth, ctype, part.get_filename()))
        if part.is_multipart() and ctype != "message/rfc822":
            for sub in part.get_payload():
                walk(sub, depth + 1)

    walk(email.message_from_bytes(raw, policy=LENIENT_POLICY), 0)
    return out


def _headers(raw: bytes) -> set[str]:
    message = email.message_from_bytes(raw, policy=LENIENT_POLICY)
    return {k.lower() for k in message} - TRANSIT


def _shape(pec: PecMessage) -> dict[str, object]:
    """What a consumer relies on, as booleans/relations, comparable between real and built."""
    d = pec.daticert
    assert d is not None
    return {
        "kind": pec.kind,
        "tipo_ricevuta": pec.tipo_ricevuta,
        "daticert_tipo": d.tipo,
        "errore": d.errore,
        "ricevuta": d.ricevuta,
        "present": {f.name for f in dataclasses.fields(d) if getattr(d, f.name) not in (None, ())},
        "riferimento_is_msgid": pec.riferimento_message_id == d.msgid is not None,
        "own_id_is_identificativo": pec.message_id == d.identificativo,
        "has_postacert": pec.postacert is not None,
        "postacert_id_is_identificativo": pec.postacert is not None
        and pec.postacert.message_id == d.identificativo,
        "postacert_riferimento_is_msgid": pec.postacert is not None
        and pec.postacert.riferimento_message_id == d.msgid,
        "signed": pec.signature is not None,
    }


REAL = [
    ("accettazione", "accettazione_IT03339130126_00009.eml"),
    ("avvenuta-consegna", "avvenuta-consegna_IT03339130126_00009.eml"),
    ("posta-certificata", "sdi_RC_ricevuta-di-consegna_6782414.eml"),
]


@pytest.mark.parametrize(("kind", "sample"), REAL)
def test_built_matches_real_sample(
    kind: str, sample: str, aruba: tuple[PecProvider, TrustStore]
) -> None:
    real_raw = ref_bytes("pec", sample)
    built_raw = _built(kind, aruba[0])
    real, built = parse_pec(real_raw), parse_pec(built_raw)
    assert _tree(built_raw) == _tree(real_raw)
    assert _headers(built_raw) == _headers(real_raw)
    shape = _shape(built)
    if kind == "posta-certificata":  # the envelope echoes what the sender asked: completa here
        assert shape.pop("tipo_ricevuta") == TipoRicevuta.COMPLETA
        assert shape.pop("ricevuta") == TipoRicevuta.COMPLETA
        expected = _shape(real)
        breve = (TipoRicevuta.BREVE, TipoRicevuta.BREVE)
        assert (expected.pop("tipo_ricevuta"), expected.pop("ricevuta")) == breve
    else:
        expected = _shape(real)
    assert shape == expected
    assert built.daticert is not None and built.daticert.msgid == ORIGINAL_ID
    assert built.subject is not None and real.subject is not None
    assert built.subject.split(": ")[0] == real.subject.split(": ")[0]  # same prefix


def test_envelope_addressing_like_sogei(aruba: tuple[PecProvider, TrustStore]) -> None:
    real = parse_pec(ref_bytes("pec", "sdi_RC_ricevuta-di-consegna_6782414.eml"))
    built = parse_pec(_built("posta-certificata", aruba[0]))
    for pec, sender, provider in ((real, "sdi03@pec.fatturapa.it", "pcert.sogei.it"),
                                  (built, SENDER, "pec.aruba.test")):
        assert pec.reply_to == pec.mittente == sender
        assert pec.from_address == f"posta-certificata@{provider}"
        assert pec.postacert is not None and pec.postacert.from_address == sender


@pytest.mark.parametrize("kind", KINDS)
def test_signature_verifies_and_breaks_on_one_byte(
    kind: str, aruba: tuple[PecProvider, TrustStore]
) -> None:
    provider, trust = aruba
    raw = _built(kind, provider)
    verdict = smime.verify(raw, trust)
    assert verdict.ok, verdict.reason
    assert verdict.digest_algorithm == "sha256" and SANDBOX_ORGANIZATION in str(
        verdict.signer_subject)
    spot = raw.index(b"Il giorno")  # inside the signed text part
    tampered = raw[:spot] + b"X" + raw[spot + 1 :]
    assert smime.verify(tampered, trust).failure is Failure.TAMPERED
    other = TrustStore.from_bytes([make_sandbox_pki("OTHER")[0]])
    assert smime.verify(raw, other).failure is Failure.UNTRUSTED_CHAIN
    assert smime.verify(raw.replace(b"\r\n", b"\n"), trust).ok  # stored on Unix, still valid


@pytest.mark.parametrize(
    ("kind", "errore", "consegna", "prefix"),
    [
        ("non-accettazione", DaticertErrore.ALTRO, None, "AVVISO DI NON ACCETTAZIONE: "),
        ("errore-consegna", DaticertErrore.NO_DEST, "sdi01@pec.fatturapa.it",
         "AVVISO DI MANCATA CONSEGNA: "),
        ("preavviso-errore-consegna", DaticertErrore.ALTRO, "sdi01@pec.fatturapa.it",
         "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: "),
    ],
)
def test_failure_receipts(kind: str, errore: DaticertErrore, consegna: str | None, prefix: str,
                          aruba: tuple[PecProvider, TrustStore]) -> None:
    raw = _built(kind, aruba[0])
    pec = parse_pec(raw)
    assert pec.kind == PecKind(kind) and pec.daticert is not None
    assert (pec.daticert.errore, pec.daticert.consegna) == (errore, consegna)
    assert pec.daticert.errore_esteso
    assert pec.subject == prefix + "IT03339130126_00009.xml"
    assert pec.riferimento_message_id == pec.daticert.msgid == ORIGINAL_ID
    # same skeleton as the real accettazione: no postacert in a failure notice
    assert _tree(raw) == _tree(ref_bytes("pec", "accettazione_IT03339130126_00009.eml"))


def test_anomaly_envelope(aruba: tuple[PecProvider, TrustStore]) -> None:
    raw = _built("errore", aruba[0])
    pec = parse_pec(raw)
    assert pec.kind is PecKind.ANOMALIA and pec.daticert is None
    assert pec.subject == "ANOMALIA MESSAGGIO: IT03339130126_00009.xml"
    assert pec.postacert is not None and pec.postacert.raw == ORIGINAL  # not certified: intact
    # shape of a daticert-less envelope: the real MC envelope has exactly this tree
    assert _tree(raw) == _tree(ref_bytes("pec", "sdi_MC_mancata-consegna_141107829.eml"))


def test_postacert_is_the_certified_original_byte_for_byte(
    aruba: tuple[PecProvider, TrustStore]
) -> None:
    ident = str(_ids(1)["identificativo"])
    certified = certified_original(ORIGINAL, ident)
    assert certified_original(certified, ident) == certified  # idempotent
    _head, body = ORIGINAL.split(b"\r\n\r\n", 1)
    assert certified.endswith(b"\r\n\r\n" + body)
    assert certified.count(b"\r\nMessage-ID:") == 1
    assert f"X-Riferimento-Message-ID: <{ORIGINAL_ID}>".encode() in certified
    for kind in ("posta-certificata", "avvenuta-consegna"):
        pec = parse_pec(_built(kind, aruba[0]))
        assert pec.postacert is not None and pec.postacert.raw == certified


def test_sintetica_has_no_postacert(aruba: tuple[PecProvider, TrustStore]) -> None:
    raw = avvenuta_consegna(ORIGINAL, aruba[0], consegna="x@pec.it",
                            ricevuta=TipoRicevuta.SINTETICA, **_ids(2))  # type: ignore[arg-type]
    pec = parse_pec(raw)
    assert pec.postacert is None and pec.daticert is not None
    assert pec.daticert.ricevuta is TipoRicevuta.SINTETICA


@pytest.mark.parametrize("sample", [s for _, s in REAL])
def test_daticert_xml_reproduces_real_daticert_bytes(sample: str) -> None:
    real = parse_pec(ref_bytes("pec", sample))
    assert real.daticert is not None and real.daticert_xml is not None
    assert daticert_xml(real.daticert) == real.daticert_xml
    assert parse_daticert(daticert_xml(real.daticert)) == real.daticert


def test_output_is_deterministic(aruba: tuple[PecProvider, TrustStore]) -> None:
    assert _built("posta-certificata", aruba[0]) == _built("posta-certificata", aruba[0])
    assert _built("accettazione", aruba[0]) != _built("avvenuta-consegna", aruba[0])


def test_naive_time_and_missing_message_id_are_refused(
    aruba: tuple[PecProvider, TrustStore]
) -> None:
    with pytest.raises(ValueError, match="aware"):
        transport_envelope(ORIGINAL, aruba[0], identificativo="x@y",
                           when=WHEN.replace(tzinfo=None))
    no_id = ORIGINAL.replace(b"Message-ID: <" + ORIGINAL_ID.encode() + b">\r\n", b"")
    with pytest.raises(ValueError, match="Message-ID"):
        transport_envelope(no_id, aruba[0], identificativo="x@y", when=WHEN)
