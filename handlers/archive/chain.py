"""The hash chain that makes the archive tamper-evident (issue 7 §3).

Every archived object (document, SdI message, PEC receipt, manifest, link statement, package
index, its signature, rapporto di versamento) is one chain entry whose hash covers the previous
entry's hash, its kind and the SHA-256 of the object. The order is proven by the ``prev`` links,
not by the sequence numbers, so `check_chain` can tell a *reordered* entry (its ``prev`` names
another entry) from an *altered* one (its hash does not recompute) and a *missing* one (its
``prev`` names nothing known). Each signed package index carries the chain head at closing, which
anchors the chain outside the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One link as stored: position, what it covers, and the two hashes."""

    seq: int
    kind: str
    ref: str  # SHA-256 of the archived object
    prev: str
    hash: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing verify found wrong; ``code`` is stable, ``detail`` names the culprit."""

    code: str  # missing | altered | reordered | chain-altered | chain-gap | package | manifest
    seq: int | None
    detail: str


def link_hash(prev: str, kind: str, ref: str) -> str:
    """Return the hash of an entry chained after ``prev``."""
    return hashlib.sha256(f"pecora-chain/1\n{prev}\n{kind}\n{ref}\n".encode()).hexdigest()


def check_chain(entries: Iterable[ChainEntry]) -> list[Problem]:
    """Recompute the chain over ``entries`` (in stored ``seq`` order) and name every break."""
    ordered = sorted(entries, key=lambda e: e.seq)
    by_hash = {e.hash: e for e in ordered}
    problems: list[Problem] = []
    expected = GENESIS
    for entry in ordered:
        if link_hash(entry.prev, entry.kind, entry.ref) != entry.hash:
            problems.append(
                Problem("chain-altered", entry.seq, f"entry {entry.seq} ({entry.kind} "
                        f"{entry.ref[:12]}) does not hash to its recorded value")
            )
        elif entry.prev != expected:
            if entry.prev in by_hash:
                problems.append(
                    Problem("reordered", entry.seq, f"entry {entry.seq} ({entry.kind} "
                            f"{entry.ref[:12]}) was chained after entry "
                            f"{by_hash[entry.prev].seq}, not after the entry before it")
                )
            else:
                problems.append(
                    Problem("chain-gap", entry.seq, f"the entry chained before entry "
                            f"{entry.seq} ({entry.kind} {entry.ref[:12]}) is missing")
                )
        expected = entry.hash
    return problems


def head_of(entries: Iterable[ChainEntry]) -> tuple[int, str]:
    """Return ``(seq, hash)`` of the last entry, or ``(0, GENESIS)`` for an empty chain."""
    last = max(entries, key=lambda e: e.seq, default=None)
    return (0, GENESIS) if last is None else (last.seq, last.hash)
