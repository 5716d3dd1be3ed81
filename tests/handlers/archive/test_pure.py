"""Pure conservazione code: chain maths names each break, manifests and SInCRO indexes round
trip, retention arithmetic follows art. 2220 c.c. and DM 17/6/2014 (domain.md §6)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from handlers.archive.chain import GENESIS, ChainEntry, check_chain, head_of, link_hash
from handlers.archive.manifest import (
    ManifestItem,
    build_manifest,
    name_terms,
    read_manifest,
    revise_manifest,
)
from handlers.archive.model import (
    DocumentKind,
    Flow,
    LinkInput,
    LinkKind,
    Party,
    PartyRole,
    UnitMetadata,
)
from handlers.archive.retention import (
    conservation_deadline,
    retain_until,
    retention_years,
    under_retention,
)
from handlers.archive.sincro import Agents, IndexFile, build_index, build_report, read_index


def _chain(n: int) -> list[ChainEntry]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        h = link_hash(prev, "item", f"{i:064x}")
        out.append(ChainEntry(i, "item", f"{i:064x}", prev, h))
        prev = h
    return out


def test_intact_chain_has_no_problem_and_a_head() -> None:
    chain = _chain(5)
    assert check_chain(chain) == [] and head_of(chain) == (5, chain[-1].hash)
    assert head_of([]) == (0, GENESIS)


def test_chain_breaks_are_named() -> None:
    chain = _chain(6)
    altered = [*chain[:2], dataclasses.replace(chain[2], ref="f" * 64), *chain[3:]]
    assert [p.code for p in check_chain(altered)] == ["chain-altered"]
    gap = [*chain[:3], *chain[4:]]
    assert [(p.code, p.seq) for p in check_chain(gap)] == [("chain-gap", 5)]
    swapped = [*chain[:2], dataclasses.replace(chain[3], seq=3),
               dataclasses.replace(chain[2], seq=4), *chain[4:]]
    assert [(p.code, p.seq) for p in check_chain(swapped)] == [
        ("reordered", 3), ("reordered", 4), ("reordered", 5)]


META = UnitMetadata(
    identifier="in/IT01234567890_abc12.xml.p7m", kind=DocumentKind.INVOICE_IN, flow=Flow.IN,
    document_type="TD01", number="FV/2024/77", date=dt.date(2024, 12, 31),
    parties=(Party(PartyRole.SELLER, name="Mario", surname="Rossi",
                   codice_fiscale="RSSMRA80A01H501U"),
             Party(PartyRole.BUYER, denomination="ACME S.p.A.", partita_iva="IT09876543210")),
    file_format="FatturaPA XML (CAdES)", signed=True, signature_outcome="valid",
    sdi_id="12345678", links=(LinkInput(LinkKind.RELATED, "in/other"),),
)
ITEMS = [ManifestItem("a.xml.p7m", "a" * 64, 10, DocumentKind.INVOICE_IN, "application/pkcs7-mime")]


def test_manifest_round_trip_and_revision() -> None:
    data = build_manifest(META, ITEMS, retain_until="2035-01-01T00:00:00+00:00", retention_years=10)
    assert data == build_manifest(META, ITEMS, retain_until="2035-01-01T00:00:00+00:00",
                                  retention_years=10)  # deterministic
    for needle in (b"RSSMRA80A01H501U", b"Mario", b"valid", b"12345678", b"TD01", b"SHA-256"):
        assert needle in data
    summary = read_manifest(data)
    assert summary.identifier == META.identifier and summary.items == tuple(ITEMS)
    more = [*ITEMS, ManifestItem("rc.xml", "b" * 64, 3, DocumentKind.SDI_MESSAGE,
                                 "application/xml", "RC")]
    revised = read_manifest(revise_manifest(data, supersedes="c" * 64, items=more,
                                            new_links=[LinkInput(LinkKind.CREDIT_NOTE_OF, "x")]))
    assert (revised.revision, revised.supersedes, revised.items) == (2, "c" * 64, tuple(more))
    with pytest.raises(ValueError, match="not a pecora manifest"):
        read_manifest(b"<x/>")


def test_name_terms_fold_case_and_accents() -> None:
    assert {"societa", "agricola", "angelo"} <= name_terms("Società Agricola D'Angelo & C.")
    assert name_terms("A B") == set()


def test_index_and_report() -> None:
    files = [IndexFile("a" * 64, "u1/a.xml", "a" * 64, "application/xml", "u1")]
    agents = Agents("Maria", "ACME")
    now = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    index = build_index(package_id="PdV-1", kind="PdV", created=now,
                        period=(dt.date(2025, 1, 1), dt.date(2025, 1, 1)), files=files,
                        agents=agents, chain_seq=7, chain_head="d" * 64)
    summary = read_index(index)
    assert (summary.package_id, summary.kind, summary.chain_seq, summary.chain_head) == (
        "PdV-1", "PdV", 7, "d" * 64)
    assert summary.files == tuple(files)
    assert b"PreservationManager" in index and b"2025-01-02T03:04:05+00:00" in index
    report = build_report(package_id="PdV-1", index_sha256="e" * 64, signed_sha256="f" * 64,
                          created=now, accepted=files, agents=agents)
    assert b'count="1"' in report and b"e" * 64 in report


def test_retention_rules() -> None:
    assert retention_years("fiscal") == 10 and retention_years("other") == 10
    assert retention_years("contracts", {"contracts": 12}) == 12
    with pytest.raises(ValueError, match="years must be"):
        retention_years("bad", {"bad": 0})
    assert retain_until(dt.date(2024, 12, 31), 10) == dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
    assert conservation_deadline(dt.date(2024, 6, 1)) == dt.date(2026, 2, 28)
    assert conservation_deadline(dt.date(2026, 6, 1)) == dt.date(2028, 2, 29)  # leap year
    until = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
    assert under_retention(until, until - dt.timedelta(seconds=1))
    assert not under_retention(until, until) and not under_retention(None, until)
