"""The simulated SdI's memory: names ever received, accepted invoices, addresses, files.

SdI remembers forever: a file name is never reusable (00002, even after a discard) and an
accepted invoice can't be sent again (00404) (domain.md §1.4, §2). It also remembers which
``sdiNN`` address it gave each transmitter (§4.1) and, per file, what it has sent so far: the
per-file message counter (``_RC_002``, §2) and the PA-flow state, so an EC that arrives after a
restart is still judged. Kept in a small JSON file (written whole, atomically: a crash leaves
the old or the new version) or only in memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from daemon.sandbox.sdi_checks import InvoiceKey, InvoiceRef
from handlers.formats.sdi_types import SdiFlow

__all__ = ["FileRecord", "FileState", "SdiMemory"]

_VERSION = 1
_DATES = ("received_at", "delivered_at", "terms_until")


class FileState(StrEnum):
    """Where a received file stands, from SdI's side (mirrors domain.md §3.4)."""

    RECEIVED = "received"  # checks done, answer not sent yet (or SdI is silent)
    REJECTED = "rejected"  # NS
    DELIVERED = "delivered"  # B2B RC: the end
    UNDELIVERED = "undelivered"  # B2B MC: the end (invoice in the reserved area)
    PENDING = "pending"  # PA MC: retrying for 10 days
    AWAITING = "awaiting"  # PA RC: EC window open
    ACCEPTED = "accepted"  # NE EC01
    REFUSED = "refused"  # NE EC02
    EXPIRED = "expired"  # DT
    ATTESTED = "attested"  # AT

    @property
    def takes_esito(self) -> bool:
        """True while an EC is admissible."""
        return self is FileState.AWAITING


@dataclass
class FileRecord:
    """One received file (or one member of a zip) and what SdI has done with it."""

    ident: str
    name: str
    transmitter: str
    flow: SdiFlow
    received_at: dt.datetime
    state: FileState = FileState.RECEIVED
    counter: int = 0
    recipient: str | None = None
    codice: str | None = None
    formato: str | None = None
    file_hash: str | None = None
    pec_message_id: str | None = None
    archive: tuple[str, str] | None = None  # (IdentificativoSdI, NomeFile) of the zip
    delivered_at: dt.datetime | None = None
    terms_until: dt.datetime | None = None  # PA: end of the EC window (then DT)
    invoices: tuple[InvoiceRef, ...] = ()
    esito_from: str | None = None  # PEC address the EC came from (SE goes back there)

    def next_counter(self) -> int:
        """The next per-file message counter: counts every message about the file (§2)."""
        self.counter += 1
        return self.counter

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in _DATES:
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["invoices"] = [[*asdict(r.key).values(), r.position] for r in self.invoices]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        values = dict(data)
        values["flow"] = SdiFlow(values["flow"])
        values["state"] = FileState(values["state"])
        for key in _DATES:
            if values.get(key):
                values[key] = dt.datetime.fromisoformat(values[key])
        if values.get("archive"):
            values["archive"] = tuple(values["archive"])
        values["invoices"] = tuple(
            InvoiceRef(InvoiceKey(s, int(y), n, t), int(p))
            for s, y, n, t, p in values.get("invoices", ())
        )
        return cls(**values)


@dataclass
class SdiMemory:
    """What SdI remembers; `save` after each change when ``path`` is set."""

    path: Path | None = None
    names: set[str] = field(default_factory=set)
    accepted: set[InvoiceKey] = field(default_factory=set)
    addresses: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    next_ident: int = 100_000_001  # PA schema: IdentificativoSdI is an integer ≤ 12 digits
    next_serial: int = 1

    @classmethod
    def load(cls, path: Path | None) -> SdiMemory:
        """The memory saved at ``path`` (a fresh one if absent; only memory if None)."""
        memory = cls(path)
        if path is None or not path.exists():
            return memory
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != _VERSION:
            raise ValueError(f"{path}: unknown sandbox SdI state version {data.get('version')}")
        memory.names = set(data["names"])
        memory.accepted = {InvoiceKey(s, int(y), n, t) for s, y, n, t in data["accepted"]}
        memory.addresses = dict(data["addresses"])
        memory.files = {k: FileRecord.from_json(v) for k, v in data["files"].items()}
        memory.next_ident = int(data["next_ident"])
        memory.next_serial = int(data["next_serial"])
        return memory

    def new_ident(self) -> str:
        """A fresh IdentificativoSdI."""
        ident = self.next_ident
        self.next_ident += 1
        return str(ident)

    def new_serial(self) -> int:
        """A fresh serial for MessageId and the mail Message-ID."""
        serial = self.next_serial
        self.next_serial += 1
        return serial

    def save(self) -> None:
        """Write the whole state atomically (temp file + rename); no-op without a path."""
        if self.path is None:
            return
        data = {
            "version": _VERSION,
            "names": sorted(self.names),
            "accepted": sorted([k.seller, k.year, k.numero, k.tipo] for k in self.accepted),
            "addresses": self.addresses,
            "files": {k: v.to_json() for k, v in self.files.items()},
            "next_ident": self.next_ident,
            "next_serial": self.next_serial,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
