"""SdI builders cross-checked against the real/official notifications and the XSDs.

Each real notification in ../shared/ref/notifications is parsed, rebuilt and signed with a
sandbox key: the rebuilt file must parse to the same value, keep the real root, namespace and
element order, validate against its XSD (once the fields real 2018 B2B messages omit are given),
carry a ds:Signature with the skeleton of SdI's real one, and verify with `xades.verify` against
the sandbox CA only. The PEC envelope is compared with the real Sogei envelopes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import hashlib
import io
import re
import zipfile
from email.message import Message
from typing import Any

import pytest
from lxml import etree

from handlers.formats import smime, xades
from handlers.formats.filenames import NotificationType
from handlers.formats.mime_raw import LENIENT_POLICY
from handlers.formats.pec import PecKind, parse_pec
from handlers.formats.pec_build import PecProvider
from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sdi import parse_sdi_message
from handlers.formats.sdi_build import SdiFile, build_sdi_file, build_sdi_message, file_hash
from handlers.formats.sdi_mail import sdi_envelope, sdi_message_id
from handlers.formats.sdi_types import (
    Destinatario,
    Errore,
    MetadatiInvioFile,
    NotificaMancataConsegna,
    NotificaScarto,
    RicevutaConsegna,
    SdiFlow,
    SdiMessage,
)
from handlers.formats.sig_common import Failure, Pkcs12Signer
from handlers.formats.trust import TrustStore
from tests.support.ref import ref_bytes, ref_path

DS = "http://www.w3.org/2000/09/xmldsig#"
WHEN = dt.datetime(2019, 1, 4, 20, 34, tzinfo=dt.UTC)
PA_SAMPLES = [f"IT01234567890_11111_{t}_001.xml" for t in ("RC", "NS", "MC", "NE", "DT", "AT",
                                                             "SE", "MT")]
B2B_SAMPLES = ["IT03339130126_00009_RC_003.xml", "IT14627831002_02621_MC_001.xml",
               "IT02652600210_00007_MT_002.xml"]


class _LocalXmldsig(etree.Resolver):
    """xmldsig import (W3C URL in the B2B XSD) → the local copy; any other URL fails."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith("xmldsig-core-schema.xsd"):
            return self.resolve_filename(str(ref_path("xsd", "xmldsig-core-schema.xsd")), context)
        if re.match(r"(?i)(https?|ftp)://", system_url or ""):
            raise AssertionError(f"schema loading tried the network: {system_url}")
        return None


@pytest.fixture(scope="module")
def schemas() -> dict[SdiFlow, etree.XMLSchema]:
    out = {}
    for flow, name in ((SdiFlow.PA, "MessaggiTypes_v1.1.xsd"),
                       (SdiFlow.B2B, "MessaggiFatturaTypes_v1.0.xsd")):
        parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
        parser.resolvers.add(_LocalXmldsig())
        out[flow] = etree.XMLSchema(etree.parse(str(ref_path("xsd", name)), parser))
    return out


@pytest.fixture(scope="module")
def sdi() -> tuple[Pkcs12Signer, TrustStore]:
    ca, signer = make_sandbox_pki("Sistema Interscambio Fattura PA")
    return signer, TrustStore.from_bytes([ca])


def _children(xml: bytes) -> list[str]:
    # An empty <Note/> (real MC) parses to None and is not rebuilt: nothing to compare.
    return [etree.QName(c).localname for c in etree.fromstring(xml)
            if isinstance(c.tag, str) and not (etree.QName(c).localname == "Note" and not c.text)]


def _complete(message: SdiMessage) -> SdiMessage:
    """Fill what real 2018 B2B messages omit although their XSD requires it (domain.md §3.2)."""
    if message.flow is not SdiFlow.B2B:
        return message
    fixes: dict[str, object] = {"hash": "0" * 64}
    if isinstance(message, RicevutaConsegna):
        fixes["destinatario"] = Destinatario("0000000", None)
    if isinstance(message, MetadatiInvioFile):
        fixes["codice_destinatario"] = "0000000"
    return dataclasses.replace(message, **fixes)  # type: ignore[type-var]


@pytest.mark.parametrize("sample", PA_SAMPLES + B2B_SAMPLES)
def test_rebuilt_real_notification(
    sample: str, sdi: tuple[Pkcs12Signer, TrustStore], schemas: dict[SdiFlow, etree.XMLSchema]
) -> None:
    real_xml = ref_bytes("notifications", sample)
    real = parse_sdi_message(real_xml)
    built_xml = build_sdi_message(real, sdi[0], signing_time=WHEN)
    built = parse_sdi_message(built_xml)
    is_mt = isinstance(real, MetadatiInvioFile)
    assert built == dataclasses.replace(real, signed=not is_mt)
    assert etree.QName(etree.fromstring(built_xml)) == etree.QName(etree.fromstring(real_xml))
    real_order = [n for n in _children(real_xml) if n != "Signature"]
    assert _children(built_xml) == real_order + ([] if is_mt else ["Signature"])
    complete = build_sdi_message(_complete(real), sdi[0], signing_time=WHEN)
    schema = schemas[real.flow]
    assert schema.validate(etree.fromstring(complete)), schema.error_log
    if not is_mt:
        assert xades.verify(built_xml, sdi[1]).ok


def test_schema_fixtures_really_reject(schemas: dict[SdiFlow, etree.XMLSchema]) -> None:
    # the official PA examples are unsigned, and ds:Signature is mandatory: they must fail
    rc = etree.fromstring(ref_bytes("notifications", PA_SAMPLES[0]))
    assert not schemas[SdiFlow.PA].validate(rc)
    real_b2b_rc = etree.fromstring(ref_bytes("notifications", B2B_SAMPLES[0]))
    assert not schemas[SdiFlow.B2B].validate(real_b2b_rc)  # lacks Hash
    assert schemas[SdiFlow.B2B].validate(
        etree.fromstring(ref_bytes("notifications", B2B_SAMPLES[1])))


def _skeleton(xml: bytes) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """ds:Signature without values: every element and its attributes, in document order."""
    sig = etree.fromstring(xml).find(f"{{{DS}}}Signature")
    assert sig is not None
    return [(str(el.tag), tuple(sorted(el.attrib.items()))) for el in sig.iter()
            if isinstance(el.tag, str)]


@pytest.mark.parametrize("sample", B2B_SAMPLES[:2])
def test_signature_has_sdi_real_structure(sample: str, sdi: tuple[Pkcs12Signer, TrustStore]
                                          ) -> None:
    real_xml = ref_bytes("notifications", sample)
    built_xml = build_sdi_message(parse_sdi_message(real_xml), sdi[0], signing_time=WHEN)
    assert _skeleton(built_xml) == _skeleton(real_xml)
    # byte layout of the head: declaration glued to the root, signature after the last newline
    assert built_xml[:60] == real_xml[:60]
    assert re.search(rb"</[A-Za-z]+>\n<ds:Signature xmlns:ds=", built_xml)
    assert built_xml.endswith(b"</ds:Signature></ns3:" + etree.QName(
        etree.fromstring(real_xml)).localname.encode() + b">")


def test_xades_verifies_only_against_sandbox_ca_and_breaks_on_change(
    sdi: tuple[Pkcs12Signer, TrustStore]
) -> None:
    real = parse_sdi_message(ref_bytes("notifications", B2B_SAMPLES[1]))
    xml = build_sdi_message(real, sdi[0], signing_time=WHEN)
    verdict = xades.verify(xml, sdi[1])
    assert verdict.ok and verdict.signing_time == WHEN
    tampered = xades.verify(xml.replace(b"141107829", b"141107828", 1), sdi[1])
    assert (tampered.failure, tampered.intact) == (Failure.TAMPERED, False)
    assert xades.verify(xml.replace(b"SigningTime>2019", b"SigningTime>2018"), sdi[1]).failure \
        is Failure.TAMPERED
    agenzia = TrustStore.from_bytes([ref_bytes("certs", "caentrate.cer")])
    assert xades.verify(xml, agenzia).failure is Failure.UNTRUSTED_CHAIN


def test_scarto_errors_per_flow(sdi: tuple[Pkcs12Signer, TrustStore],
                                schemas: dict[SdiFlow, etree.XMLSchema]) -> None:
    base = parse_sdi_message(ref_bytes("notifications", PA_SAMPLES[1]))
    assert isinstance(base, NotificaScarto)
    errori = (Errore("00200", "File non conforme al formato", "Verificare il tracciato"),
              Errore("00404", "Fattura duplicata", None))
    for flow in SdiFlow:
        message = dataclasses.replace(base, flow=flow, errori=errori, hash="f" * 64)
        xml = build_sdi_message(message, sdi[0], signing_time=WHEN)
        assert schemas[flow].validate(etree.fromstring(xml)), schemas[flow].error_log
        parsed = parse_sdi_message(xml)
        assert isinstance(parsed, NotificaScarto)
        if flow is SdiFlow.B2B:
            assert etree.QName(etree.fromstring(xml)).localname == "RicevutaScarto"
            assert parsed.errori == errori
        else:  # the PA Errore_Type has no Suggerimento
            assert [e.suggerimento for e in parsed.errori] == [None, None]


def test_pa_only_messages_refused_in_b2b(sdi: tuple[Pkcs12Signer, TrustStore]) -> None:
    ne = parse_sdi_message(ref_bytes("notifications", PA_SAMPLES[3]))
    with pytest.raises(ValueError, match=r"b2b flow"):
        build_sdi_message(dataclasses.replace(ne, flow=SdiFlow.B2B), sdi[0], signing_time=WHEN)


INVOICE_NAME = "IT02652600210_00007.xml"


def _mt(invoice: bytes) -> MetadatiInvioFile:
    return MetadatiInvioFile(flow=SdiFlow.B2B, identificativo_sdi="7339338", message_id="18094",
                             pec_message_id=None, note=None, signed=False, nome_file=INVOICE_NAME,
                             hash=file_hash(invoice), codice_destinatario="0000000",
                             formato="FPR12", tentativi_invio=1)


def test_mt_hash_is_sha256_of_the_invoice_and_mt_is_unsigned(
    sdi: tuple[Pkcs12Signer, TrustStore]
) -> None:
    invoice = ref_bytes("invoices", "IT01234567890_FPR01.xml")
    file = build_sdi_file(_mt(invoice), INVOICE_NAME, 2, sdi[0], signing_time=WHEN)
    assert file.name == "IT02652600210_00007_MT_002.xml"
    parsed = parse_sdi_message(file.content)
    assert isinstance(parsed, MetadatiInvioFile) and not parsed.signed
    assert parsed.hash == hashlib.sha256(invoice).hexdigest()
    real = ref_bytes("notifications", "IT02652600210_00007_MT_002.xml")
    assert file.content.split(b"\n")[0] == real.split(b"\n")[0]  # standalone="yes" declaration


def test_at_is_a_zip_of_invoice_and_signed_at(sdi: tuple[Pkcs12Signer, TrustStore]) -> None:
    at = parse_sdi_message(ref_bytes("notifications", PA_SAMPLES[5]))
    invoice = ref_bytes("invoices", "IT01234567890_FPA01.xml")
    at = dataclasses.replace(at, hash_file_originale=file_hash(invoice))
    file = build_sdi_file(at, "IT01234567890_11111.xml.p7m", 7, sdi[0], signing_time=WHEN,
                          invoice=invoice)
    assert file.name == "IT01234567890_11111_AT_007.zip"
    with zipfile.ZipFile(io.BytesIO(file.content)) as archive:
        assert archive.namelist() == ["IT01234567890_11111.xml.p7m",
                                      "IT01234567890_11111_AT_007.xml"]
        assert archive.read("IT01234567890_11111.xml.p7m") == invoice
        assert xades.verify(archive.read("IT01234567890_11111_AT_007.xml"), sdi[1]).ok
    again = build_sdi_file(at, "IT01234567890_11111.xml.p7m", 7, sdi[0], signing_time=WHEN,
                           invoice=invoice)
    assert again == file  # deterministic, zip timestamps included


# --- the PEC envelope SdI's provider sends ------------------------------------------------------


@pytest.fixture(scope="module")
def sogei() -> tuple[PecProvider, TrustStore]:
    ca, signer = make_sandbox_pki("Sogei PEC", email="posta-certificata@pcert.sogei.test")
    return PecProvider("Sogei SpA", "pcert.sogei.test", signer), TrustStore.from_bytes([ca])


def _inner_tree(raw: bytes) -> list[tuple[str, str | None]]:
    pec = parse_pec(raw)
    assert pec.postacert is not None
    inner = email.message_from_bytes(pec.postacert.raw, policy=LENIENT_POLICY)
    return [(p.get_content_type(), p.get_filename()) for p in inner.walk()
            if isinstance(p, Message)]


def _envelope(files: list[SdiFile], provider: PecProvider) -> bytes:
    return sdi_envelope(files, provider, sdi_address="sdi03@pec.fatturapa.it",
                        to="l.battistini@pec.it", message_id=sdi_message_id(4163125586, WHEN),
                        identificativo="opec288.20190104213401.26494.1867.1.1@pcert.sogei.test",
                        when=WHEN, next_address="sdi48@pec.fatturapa.it")


def _outer_headers(raw: bytes) -> set[str]:
    message = email.message_from_bytes(raw, policy=LENIENT_POLICY)
    return {k.lower() for k in message} - {"return-path", "delivered-to", "received",
                                           "x-fattura-pa"}


@pytest.mark.parametrize("real_name", ["sdi_RC_ricevuta-di-consegna_6782414.eml",
                                       "sdi_invio-file_7339338_fattura-e-MT.eml"])
def test_sdi_envelope_like_real(real_name: str, sdi: tuple[Pkcs12Signer, TrustStore],
                                sogei: tuple[PecProvider, TrustStore]) -> None:
    real_raw = ref_bytes("pec", real_name)
    invoice = ref_bytes("invoices", "IT01234567890_FPR01.xml")
    if "RC" in real_name:
        rc = parse_sdi_message(ref_bytes("notifications", B2B_SAMPLES[0]))
        files = [build_sdi_file(rc, "IT03339130126_00009.xml", 3, sdi[0], signing_time=WHEN)]
    else:
        files = [build_sdi_file(_mt(invoice), INVOICE_NAME, 2, None),
                 SdiFile(INVOICE_NAME, invoice)]
    raw = _envelope(files, sogei[0])
    real, built = parse_pec(real_raw), parse_pec(raw)
    assert built.kind is real.kind is PecKind.POSTA_CERTIFICATA
    assert built.tipo_ricevuta is real.tipo_ricevuta
    assert _outer_headers(raw) == _outer_headers(real_raw)
    assert _inner_tree(raw) == _inner_tree(real_raw)
    assert built.mittente == built.reply_to == "sdi03@pec.fatturapa.it" == real.mittente
    assert built.subject is not None and real.subject is not None
    assert built.subject.split()[:3] == real.subject.split()[:3]  # "POSTA CERTIFICATA: Xxx"
    assert built.postacert is not None and real.postacert is not None
    assert [a.filename for a in built.postacert.attachments] == [f.name for f in files]
    for attachment, file in zip(built.postacert.attachments, files, strict=True):
        if file.name == INVOICE_NAME:  # QP, binary-safe: the exact bytes the MT Hash covers
            assert attachment.content == invoice
            mt = parse_sdi_message(built.postacert.attachments[0].content)
            assert isinstance(mt, MetadatiInvioFile) and mt.hash == file_hash(attachment.content)
        elif not file.name.endswith("_MT_002.xml"):
            assert attachment.content == file.content
            assert xades.verify(attachment.content, sdi[1]).ok
    assert "sdi48@pec.fatturapa.it" in (built.postacert.text or "")
    assert smime.verify(raw, sogei[1]).ok
    spot = raw.index(b"sdi48@pec")
    assert not smime.verify(raw[:spot] + b"S" + raw[spot + 1:], sogei[1]).ok


def test_mc_envelope_subject_and_type(sdi: tuple[Pkcs12Signer, TrustStore],
                                      sogei: tuple[PecProvider, TrustStore]) -> None:
    mc = parse_sdi_message(ref_bytes("notifications", B2B_SAMPLES[1]))
    assert isinstance(mc, NotificaMancataConsegna)
    file = build_sdi_file(mc, "IT14627831002_02621.xml", 1, sdi[0], signing_time=WHEN)
    built = parse_pec(_envelope([file], sogei[0]))
    real = parse_pec(ref_bytes("pec", "sdi_MC_mancata-consegna_141107829.eml"))
    assert built.subject == real.subject.replace("sdi48", "sdi03") if real.subject else False
    assert built.postacert is not None and real.postacert is not None
    assert [a.filename for a in built.postacert.attachments] == \
        [a.filename for a in real.postacert.attachments]
    assert NotificationType.MC in file.name.split("_")
