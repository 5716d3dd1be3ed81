"""`pecora inspect` as a real process on the reference files: exit codes and JSON fields.

Runs ``python -m daemon inspect`` (what the ``pecora`` script runs) from the repository root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms

from handlers.formats import smime
from tests.support.ref import ref_bytes, ref_path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ["-m", "daemon", "inspect"]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PECORA_CONFIG"}
    env["COLUMNS"] = "200"  # rich wraps at the terminal width: keep human lines whole
    return subprocess.run([sys.executable, *PREFIX, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    proc = _run("--json", *args)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _issues(f: dict[str, Any]) -> list[str | None]:
    return [i["code"] for i in f["issues"] if i["severity"] == "error"]


@pytest.fixture(scope="module")
def agid_ca1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AgID CA1 (issuer of the PEC providers' certificates), from the Aruba receipt's CMS."""
    parts = smime.split_signed(ref_bytes("pec", "accettazione_IT03339130126_00009.eml"))
    sd = cms.ContentInfo.load(parts.signature)["content"]
    ca = next(c.chosen for c in sd["certificates"]
              if c.chosen.subject.native.get("common_name") == "AgID CA1")
    path = tmp_path_factory.mktemp("trust") / "agid-ca1.der"
    path.write_bytes(ca.dump())
    return path


def test_clean_invoice_exits_0_with_its_key_fields() -> None:
    code, doc = _json(ref_path("invoices", "IT01234567890_FPA01.xml"))
    assert code == doc["exit_code"] == 0
    (f,) = doc["files"]
    assert (f["kind"], f["format"], f["ok"]) == ("invoice", "FPA12", True)
    assert f["fields"]["seller"] == {"name": "ALPHA SRL", "vat": "IT01234567890",
                                     "codice_fiscale": None}
    assert f["fields"]["buyer"]["name"] == "AMMINISTRAZIONE BETA"
    assert f["fields"]["container"]["file_name"]["valid"] is True
    assert f["fields"]["documents"][0] | {"attachments": []} == {
        "tipo": "TD01", "tipo_descrizione": "Fattura", "numero": "123", "data": "2017-01-18",
        "divisa": "EUR", "totale": "6.10", "totale_calcolato": True, "attachments": []}


def test_all_reference_invoices_in_one_run() -> None:
    names = sorted(p.name for p in ref_path("invoices").iterdir())
    code, doc = _json(*(ref_path("invoices", n) for n in names))
    assert code == 1  # some have findings, none is unreadable
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert set(by_name) == set(names) and all(f["readable"] for f in doc["files"])
    assert _issues(by_name["IT01234567890_FPR03.xml"]) == ["00422"]
    assert by_name["IT05979361218_002.xml.p7m"]["format"] == "legacy-1.1"
    assert "00200" in _issues(by_name["ZGEXQROO37831_anonimizzata.xml"])
    assert by_name["IT08973230967_6zZcm.xml"]["fields"]["documents"][0]["totale"] == "28.40"
    clean = {n for n, f in by_name.items() if f["ok"]}
    assert clean == {"IT01234567890_FPA01.xml", "IT01234567890_FPA02.xml",
                     "IT01234567890_FPA03.xml", "IT01234567890_FPR01.xml",
                     "IT01234567890_FPR02.xml", "IT01234567890_FPR06.xml",
                     "IT01234567890_x05mX.xml", "IT08973230967_6zZcm.xml",
                     "ITBNCMRA80A01D548T_20001.xml"}


def test_p7m_signature_against_given_anchors() -> None:
    p7m = ref_path("invoices", "IT01234567890_FPR03.xml.p7m")
    code, doc = _json(p7m)
    (sig,) = doc["files"][0]["signatures"]
    assert code == 1 and doc["trust_anchors"] == 0
    assert (sig["format"], sig["failure"], sig["intact"]) == ("cades", "no_trust_anchors", True)
    code, doc = _json("--trust", ref_path("certs", "caentrate.cer"),
                      "--trust", ref_path("certs", "Sistema_Interscambio_Fattura_PA.cer"), p7m)
    (sig,) = doc["files"][0]["signatures"]
    assert code == 1 and doc["trust_anchors"] == 2
    assert (sig["failure"], sig["sdi_code"], sig["signing_time"]) == (
        "untrusted_chain", "00104", "2018-12-21T15:58:13+00:00")
    assert "CORATO SERGIO" in sig["signer_subject"]


def test_pec_receipt_checks_with_its_ca(agid_ca1: Path) -> None:
    receipt = ref_path("pec", "accettazione_IT03339130126_00009.eml")
    code, doc = _json("--trust", agid_ca1, receipt)
    (f,) = doc["files"]
    assert code == 0 and f["ok"] and f["kind"] == "pec" and f["format"] == "accettazione"
    assert f["signatures"][0]["ok"] is True and f["signatures"][0]["format"] == "smime"
    assert f["fields"]["daticert"]["msgid"] == f["fields"]["riferimento_message_id"]
    assert _run(receipt).returncode == 1  # same file, no anchors: not verified


def test_sdi_envelope_and_nested_parts(agid_ca1: Path) -> None:
    code, doc = _json("--trust", agid_ca1,
                      ref_path("pec", "sdi_invio-file_7339338_fattura-e-MT.eml"),
                      ref_path("pec", "sdi_invio-file_7339338_broken-xml.eml"))
    good, broken = doc["files"]
    assert code == 1
    assert good["signatures"][0]["failure"] == "tampered"  # edited by the source repository
    assert good["fields"]["mittente"] == "sdi03@pec.fatturapa.it"
    mt, invoice = good["parts"]
    assert (mt["format"], mt["fields"]["identificativo_sdi"]) == ("MT", "7339338")
    assert invoice["format"] == "FPR12" and invoice["ok"]
    assert invoice["fields"]["documents"][0]["numero"] == "FATT/2018/0003"
    assert broken["readable"] and _issues(broken["parts"][1]) == ["00200"]


def test_notifications() -> None:
    code, doc = _json("--trust", ref_path("certs", "caentrate.cer"),
                      ref_path("notifications", "IT01234567890_11111_NS_001.xml"),
                      ref_path("notifications", "IT03339130126_00009_RC_003.xml"))
    ns, rc = doc["files"]
    assert code == 1
    assert (ns["format"], ns["fields"]["errori"][0]["codice"]) == ("NS", "00100")
    assert "not signed" in ns["issues"][0]["message"]
    assert (rc["fields"]["identificativo_sdi"], rc["fields"]["nome_file"]) == (
        "6782414", "IT03339130126_00009.xml")
    (sig,) = rc["signatures"]
    assert (sig["format"], sig["failure"], sig["intact"]) == ("xades", "untrusted_chain", True)
    assert _run(ref_path("notifications", "IT01234567890_11111_MT_001.xml")).returncode == 0


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not anything")
    code, doc = _json(ref_path("invoices", "IT01234567890_FPA01.xml"), junk)
    assert code == 2 and [f["readable"] for f in doc["files"]] == [True, False]
    assert _run(tmp_path / "missing.xml").returncode == 2
    bad_anchor = tmp_path / "bad.pem"
    bad_anchor.write_text("not a certificate")
    proc = _run("--trust", bad_anchor, ref_path("invoices", "IT01234567890_FPA01.xml"))
    assert proc.returncode == 2 and "trust anchors" in proc.stderr


def test_human_output() -> None:
    proc = _run(ref_path("invoices", "IT01234567890_FPA01.xml"),
                ref_path("notifications", "IT01234567890_11111_NS_001.xml"))
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "✔" in out and "✘" in out and "ALPHA SRL" in out and "codice=00100" in out
    assert "no --trust anchors given" in out


def test_wired_into_the_pecora_cli_and_needs_no_config() -> None:
    env = {**os.environ, "PECORA_CONFIG": "/nonexistent/pecora.toml", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, *PREFIX, "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "--trust" in proc.stdout
