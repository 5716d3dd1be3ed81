"""identify: every reference file is named correctly, with its fields, findings and verdicts.

Expected verdicts follow SOURCES.md: official examples are clean (FPR03 aside: 00422), the real
p7m signatures are intact but their CAs are not in ref (00104), Sogei envelopes were altered by
the source repository (S/MIME tampered), the Aruba receipts verify against AgID CA1.
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from asn1crypto import cms

from handlers.formats import pec, smime
from handlers.formats.fatturapa import write
from handlers.formats.identify import (
    MAX_INVOICE_BYTES,
    Identification,
    Issue,
    Kind,
    _mt_cross_check,
    exit_code,
    identify,
)
from handlers.formats.sig_common import Failure
from handlers.formats.trust import TrustStore
from handlers.formats.xades_sign import sign_xades_bes
from tests.handlers.formats import _pki
from tests.handlers.formats.fatturapa import factory
from tests.support.ref import ref_bytes

INVOICES = {  # file -> (format, exit code without trust anchors)
    "IT01234567890_FPA01.xml": ("FPA12", 0), "IT01234567890_FPA02.xml": ("FPA12", 0),
    "IT01234567890_FPA03.xml": ("FPA12", 0), "IT01234567890_FPR01.xml": ("FPR12", 0),
    "IT01234567890_FPR02.xml": ("FPR12", 0), "IT01234567890_FPR03.xml": ("FPR12", 1),
    "IT01234567890_FPR03.xml.p7m": ("FPR12", 1),
    "IT01234567890_FPR03.base64.xml.p7m": ("FPR12", 1),
    "IT01234567890_FPR06.xml": ("FPR12", 0), "IT01234567890_x05mX.xml": ("FPR12", 0),
    "IT05979361218_002.xml.p7m": ("legacy-1.1", 1), "IT08973230967_6zZcm.xml": ("FPR12", 0),
    "ITBNCMRA80A01D548T_20001.xml": ("FPR12", 0),
    "ZGEXQROO37831_anonimizzata.xml": ("broken-namespace", 1),
}
NOTIFICATIONS = [
    "IT01234567890_11111_AT_001.xml", "IT01234567890_11111_DT_001.xml",
    "IT01234567890_11111_EC_001.xml", "IT01234567890_11111_MC_001.xml",
    "IT01234567890_11111_MT_001.xml", "IT01234567890_11111_NE_001.xml",
    "IT01234567890_11111_NS_001.xml", "IT01234567890_11111_RC_001.xml",
    "IT01234567890_11111_SE_001.xml", "IT02652600210_00007_MT_002.xml",
    "IT03339130126_00009_RC_003.xml", "IT14627831002_02621_MC_001.xml",
]
PECS = {  # file -> (format, nested part formats)
    "accettazione_IT03339130126_00009.eml": ("accettazione", []),
    "avvenuta-consegna_IT03339130126_00009.eml": ("avvenuta-consegna", ["FPR12"]),
    "sdi_MC_mancata-consegna_141107829.eml": ("posta-certificata", ["MC"]),
    "sdi_RC_ricevuta-di-consegna_6782414.eml": ("posta-certificata", ["RC"]),
    "sdi_invio-file_7339338_broken-xml.eml": ("posta-certificata", ["MT", "malformed-xml"]),
    "sdi_invio-file_7339338_fattura-e-MT.eml": ("posta-certificata", ["MT", "FPR12"]),
    "sdi_invio-file_7339338_p7m-base64.eml": ("posta-certificata", ["MT", "FPR12"]),
}


def _codes(r: Identification) -> list[str | None]:
    return [i.code for i in r.issues if i.severity == "error"]


def _caentrate() -> TrustStore:
    return TrustStore.from_bytes([ref_bytes("certs", "caentrate.cer")])


def _agid_ca1() -> TrustStore:
    """AgID CA1 (the PEC providers' CA) taken from the Aruba receipt's own certificate bag."""
    parts = smime.split_signed(ref_bytes("pec", "accettazione_IT03339130126_00009.eml"))
    sd = cms.ContentInfo.load(parts.signature)["content"]
    ca = next(c.chosen for c in sd["certificates"]
              if c.chosen.subject.native.get("common_name") == "AgID CA1")
    return TrustStore.from_bytes([ca.dump()])


@pytest.mark.parametrize("name", sorted(INVOICES))
def test_reference_invoices(name: str) -> None:
    fmt, code = INVOICES[name]
    r = identify(ref_bytes("invoices", name), name)
    assert (r.kind, r.format, r.readable, exit_code([r])) == (Kind.INVOICE, fmt, True, code)
    json.dumps(r.to_dict())  # JSON-ready all the way down
    if fmt in ("FPA12", "FPR12"):
        assert r.fields["seller"]["name"] and r.fields["documents"][0]["numero"]


def test_invoice_key_fields() -> None:
    r = identify(ref_bytes("invoices", "ITBNCMRA80A01D548T_20001.xml"),
                 "ITBNCMRA80A01D548T_20001.xml")
    assert r.fields["seller"] == {"name": "Avvocato Mario Bianchi", "vat": "IT01484710387",
                                  "codice_fiscale": None}
    assert r.fields["buyer"]["name"] == "BIZZ SRL"
    assert r.fields["documents"] == [{
        "tipo": "TD01", "tipo_descrizione": "Fattura", "numero": "001", "data": "2020-10-25",
        "divisa": "EUR", "totale": "122.91", "totale_calcolato": False, "attachments": []}]
    assert r.fields["container"]["file_name"]["valid"] is True and r.fields["bom"] is True
    lot = identify(ref_bytes("invoices", "IT01234567890_FPA03.xml"))
    assert [(d["numero"], d["totale"]) for d in lot.fields["documents"]] == [
        ("12", "30.50"), ("456", "2440.00")]


def test_content_findings_keep_their_sdi_codes() -> None:
    r = identify(ref_bytes("invoices", "IT01234567890_FPR03.xml"), "IT01234567890_FPR03.xml")
    assert _codes(r) == ["00422"] and "DatiRiepilogo" in r.issues[0].where


@pytest.mark.parametrize("name", ["IT01234567890_FPR03.xml.p7m",
                                  "IT01234567890_FPR03.base64.xml.p7m"])
def test_p7m_is_unwrapped_and_its_signature_judged(name: str) -> None:
    data = ref_bytes("invoices", name)
    bare = identify(data, name)
    assert bare.fields["container"]["type"] == "p7m"
    (sig,) = bare.signatures
    assert (sig.format, sig.verdict.failure, sig.verdict.intact, sig.sdi_code) == (
        "cades", Failure.NO_TRUST_ANCHORS, True, "00104")
    assert "CORATO SERGIO" in (sig.verdict.signer_subject or "")
    (sig,) = identify(data, name, trust=_caentrate()).signatures
    assert (sig.verdict.failure, sig.sdi_code) == (Failure.UNTRUSTED_CHAIN, "00104")
    layers = bare.fields["container"]["layers"]
    assert layers == ([["der"]] if ".base64." not in name else [["base64", "der"]])


def test_unsupported_and_broken_invoices_are_named() -> None:
    legacy = identify(ref_bytes("invoices", "IT05979361218_002.xml.p7m"),
                      "IT05979361218_002.xml.p7m")
    assert legacy.format == "legacy-1.1" and "00200" in _codes(legacy)
    broken = identify(ref_bytes("invoices", "ZGEXQROO37831_anonimizzata.xml"),
                      "ZGEXQROO37831_anonimizzata.xml")
    assert broken.format == "broken-namespace"
    assert _codes(broken) == ["00001", "00200"]  # the name is not SdI-conformant either


def test_file_name_checks() -> None:
    data = ref_bytes("invoices", "IT01234567890_FPR01.xml")
    assert _codes(identify(data, "fattura.xml")) == ["00001"]
    assert _codes(identify(data, "IT01234567890_FPR01.xml.p7m")) == ["00001"]  # not a p7m
    assert _codes(identify(data)) == []  # no name, no name check


def test_oversized_invoice_is_00003() -> None:
    xml = write(factory.invoice())
    big = xml + b"<!--" + b"x" * MAX_INVOICE_BYTES + b"-->"  # after the root: still XML
    assert "00003" in _codes(identify(big, "IT01234567890_00001.xml"))


def test_xades_signed_invoice() -> None:
    root = _pki.make_ca()
    signer = _pki.make_signer(root)
    signed = sign_xades_bes(write(factory.invoice()), _pki.signer_of(signer))
    r = identify(signed, "IT01234567890_00001.xml", trust=_pki.store(root))
    assert r.ok and r.fields["container"]["type"] == "xades"
    assert [s.format for s in r.signatures] == ["xades"] and r.signatures[0].verdict.ok
    tampered = signed.replace(b"Riga 1", b"Riga 2")
    (sig,) = identify(tampered, trust=_pki.store(root)).signatures
    assert (sig.verdict.failure, sig.sdi_code) == (Failure.TAMPERED, "00102")
    assert exit_code([identify(signed)]) == 1  # no anchors: not verified


@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_reference_notifications(name: str) -> None:
    r = identify(ref_bytes("notifications", name), name)
    assert (r.kind, r.format, r.readable) == (Kind.SDI_MESSAGE, name.split("_")[2], True)
    assert r.fields["identificativo_sdi"] and r.fields["type"] == r.format
    json.dumps(r.to_dict())
    official_unsigned = name.startswith("IT01234567890_11111") and r.format not in ("MT", "EC")
    assert exit_code([r]) == (1 if official_unsigned or r.signatures else 0)


def test_notification_fields_and_signatures() -> None:
    ns = identify(ref_bytes("notifications", "IT01234567890_11111_NS_001.xml"))
    assert ns.fields["errori"] == [{"codice": "00100", "descrizione":
                                    "Certificato di firma scaduto", "suggerimento": None}]
    assert ns.fields["nome_file"] == "IT01234567890_11111.xml.p7m"
    assert "not signed" in ns.issues[0].message
    mc = identify(ref_bytes("notifications", "IT14627831002_02621_MC_001.xml"),
                  "IT14627831002_02621_MC_001.xml", trust=_caentrate())
    assert mc.fields["data_messa_a_disposizione"] == "2019-01-05"
    (sig,) = mc.signatures
    assert (sig.format, sig.verdict.failure, sig.verdict.intact) == (
        "xades", Failure.UNTRUSTED_CHAIN, True)
    assert mc.issues == ()  # name and NomeFile agree
    renamed = identify(ref_bytes("notifications", "IT14627831002_02621_MC_001.xml"),
                       "IT99999999999_00001_RC_001.xml")
    assert {i.severity for i in renamed.issues} == {"warning"} and len(renamed.issues) == 2


@pytest.mark.parametrize("name", sorted(PECS))
def test_reference_pec(name: str) -> None:
    fmt, parts = PECS[name]
    r = identify(ref_bytes("pec", name), name, trust=_agid_ca1())
    assert (r.kind, r.format, r.readable) == (Kind.PEC, fmt, True)
    assert [p.format for p in r.parts] == parts
    (sig,) = r.signatures
    aruba = name.startswith(("accettazione", "avvenuta"))
    assert sig.format == "smime" and sig.verdict.ok is aruba
    if not aruba:
        assert sig.verdict.failure is Failure.TAMPERED
    json.dumps(r.to_dict())


def test_pec_fields_and_nested_checks() -> None:
    ok = identify(ref_bytes("pec", "accettazione_IT03339130126_00009.eml"), trust=_agid_ca1())
    assert ok.ok and exit_code([ok]) == 0
    assert ok.fields["daticert"]["tipo"] == "accettazione"
    assert ok.fields["message_id"] == "opec288.20181113163926.01838.310.1.358.63@pec.aruba.it"
    mc = identify(ref_bytes("pec", "sdi_MC_mancata-consegna_141107829.eml"))
    assert [i.where for i in mc.issues] == ["daticert.xml"]
    assert mc.fields["mittente"] == "sdi48@pec.fatturapa.it"
    broken = identify(ref_bytes("pec", "sdi_invio-file_7339338_broken-xml.eml"))
    assert broken.readable and exit_code([broken]) == 1
    assert broken.parts[1].issues[0].code == "00200"
    delivery = identify(ref_bytes("pec", "sdi_invio-file_7339338_fattura-e-MT.eml"))
    invoice = delivery.parts[1]
    assert invoice.fields["documents"][0]["numero"] == "FATT/2018/0003"
    assert invoice.fields["documents"][0]["attachments"][0]["name"] == "FATT/2018/0003.pdf"


def test_mt_cross_check() -> None:
    def mt(nome: str, hash_: str | None) -> Identification:
        return Identification("x_MT_001.xml", Kind.SDI_MESSAGE, "MT", True,
                              {"nome_file": nome, "hash": hash_})
    blobs = {"IT1_00001.xml": b"abc"}
    sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert _mt_cross_check((mt("IT1_00001.xml", sha),), blobs) == []
    assert "does not match" in _mt_cross_check((mt("IT1_00001.xml", "00"),), blobs)[0].message
    assert "not attached" in _mt_cross_check((mt("IT1_00002.xml", None),), blobs)[0].message


def test_daticert_alone() -> None:
    raw = pec.parse_pec(ref_bytes("pec", "accettazione_IT03339130126_00009.eml")).daticert_xml
    assert raw is not None
    r = identify(raw, "daticert.xml")
    assert (r.kind, r.format, exit_code([r])) == (Kind.DATICERT, "accettazione", 0)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(b"", "empty"), (b"   \n", "empty"), (b"\x00\x01binary", "unknown"),
     (b"<a><b></a>", "malformed-xml"), (b"<root/>", "xml"),
     (b"From: a@b\nTo: c@d\nSubject: hi\n\nplain mail\n", "unknown")],
)
def test_unreadable_inputs(data: bytes, fmt: str) -> None:
    r = identify(data, "x")
    assert (r.readable, r.format, exit_code([r])) == (False, fmt, 2)


def test_pec_headers_on_junk_is_pec_with_findings() -> None:
    r = identify(b"X-Ricevuta: accettazione\n\nnot mime", "x.eml")
    assert (r.kind, r.readable, exit_code([r])) == (Kind.PEC, True, 1)
    assert r.signatures[0].verdict.failure is Failure.UNSIGNED
    assert [i.where for i in r.issues] == ["daticert.xml"]


def test_exit_code_takes_the_worst() -> None:
    good = Identification("a", Kind.INVOICE, "FPR12", True)
    bad = dataclasses.replace(good, issues=(Issue("00423", "x"),))
    warn = dataclasses.replace(good, issues=(Issue(None, "x", severity="warning"),))
    gone = Identification("b", Kind.UNKNOWN, "unknown", False)
    assert [exit_code(x) for x in ([good], [good, warn], [good, bad], [bad, gone], [])] == [
        0, 0, 1, 2, 0]
    nested = dataclasses.replace(good, parts=(bad,))
    assert not nested.ok and exit_code([nested]) == 1


@pytest.mark.parametrize("seed", range(4))
def test_mutated_reference_files_never_raise(seed: int) -> None:
    rnd = random.Random(seed)
    names = [("invoices", "IT01234567890_FPR03.xml.p7m"), ("invoices", "IT01234567890_FPA03.xml"),
             ("notifications", "IT03339130126_00009_RC_003.xml"),
             ("pec", "sdi_invio-file_7339338_fattura-e-MT.eml")]
    for _ in range(60):
        folder, name = rnd.choice(names)
        data = bytearray(ref_bytes(folder, name))
        if rnd.random() < 0.3:
            data = data[: rnd.randrange(len(data))]
        for _ in range(rnd.randrange(1, 8)):
            pos = rnd.randrange(len(data) or 1)
            data[pos:pos] = rnd.choice([b"<", b"&", b"\x00", b'"', b"\n--", b"=?utf-8?b?"])
        r = identify(bytes(data), name)
        json.dumps(r.to_dict())
        assert exit_code([r]) in (1, 2) or r.ok
