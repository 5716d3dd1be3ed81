"""What the simulated SdI does with each file: scenarios as data, chosen by recipient.

A `Scenario` is looked up by the invoice's ``PECDestinatario`` (when ``CodiceDestinatario`` is
``0000000``, the B2B "deliver to this PEC" case) or its ``CodiceDestinatario``, else the table's
default. It says what SdI does with a file that passed its checks (`Outcome`), what a simulated
PA answers (`PaAnswer`), how late and how faithfully SdI's messages travel (`Timing`) and
whether SdI stays silent. The flows follow domain.md §3.3: RC, NS or MC to the transmitter; for
FPA12, EC within 15 days → NE, else DT; a PA MC → AT (or RC) after 10 days.

Default table (`DEFAULT_SCENARIOS`; any other code: deliver, not forwarded, FPA12 → DT)::

    code / recipient   what happens
    0000000 + PEC      deliver (RC); invoice + MT forwarded to PECDestinatario
    0000000, no PEC    B2B mancata consegna (MC): a consumer, the invoice waits in the
                       buyer's reserved area (domain.md §3.3)
    UFF001             PA accepts after 1 day  → NE EC01     (recipient uff001@pa.sandbox.test)
    UFF002             PA refuses after 1 day  → NE EC02 with the reason
    UFF003             PA never answers        → DT after 15 days to both
    UFF004             MC, PA unreachable      → AT after 10 days
    UFF005             MC, then RC after 10 days, then the PA accepts
    SCART1 / SCARTO1   NS 00404 (forced), PA / B2B code
    MANCATA            B2B MC (recipient channel unreachable)
    RITARDO            RC after 2 simulated hours
    DOPPIO1            every message sent twice
    DISORDI            RC, then a stale MC (out of order, §3.4)
    SILENTE            SdI never answers
    CAMBIO1            RC announcing sdi42@pec.fatturapa.it instead of the usual address

TOML (`load_scenarios`, `Scenarios.from_toml`)::

    [default]
    outcome = "deliver"
    [codice.UFF001]
    recipient = "uff001@pa.sandbox.test"
    pa = "accept"
    timing = { answer_after = 86400 }
    [recipient."acme@pec.sandbox.test"]
    outcome = "scarto"
    codes = ["00404"]
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "DAY",
    "DEFAULT_SCENARIOS",
    "AfterMc",
    "Outcome",
    "PaAnswer",
    "Scenario",
    "Scenarios",
    "Timing",
    "load_scenarios",
]

DAY = 86400.0


class Outcome(StrEnum):
    """What SdI does with a file that passed (or is forced past) its checks."""

    DELIVER = "deliver"  # RC (and MT + invoice to the recipient)
    SCARTO = "scarto"  # NS with ``codes`` added to whatever the checks found
    MANCATA_CONSEGNA = "mancata-consegna"  # MC (B2B terminal; PA: AT or RC after 10 days)


class PaAnswer(StrEnum):
    """What the simulated PA does with an FPA12 it received (domain.md §3.3)."""

    ACCEPT = "accept"  # EC01 → NE to the transmitter
    REFUSE = "refuse"  # EC02 with ``reason`` → NE
    NO_ANSWER = "no-answer"  # nothing (a real recipient, e.g. pecora, may still answer) → DT
    AT = "at"  # the PA cannot be reached: MC then AT


class AfterMc(StrEnum):
    """How a PA mancata consegna ends after SdI's 10 days of retries."""

    AT = "at"
    RC = "rc"


@dataclass(frozen=True, slots=True)
class Timing:
    """Delays in simulated seconds and delivery faults of SdI's messages."""

    delay: float = 0.0  # before SdI's first answer (real SdI: minutes to 5 days)
    answer_after: float = DAY  # the simulated PA's EC, after delivery
    mc_retry: float = 10 * DAY  # PA MC → AT/RC
    terms: float = 15 * DAY  # EC window after delivery, then DT
    duplicate: bool = False  # send every message twice
    out_of_order: bool = False  # after an RC, a stale MC (lower counter) arrives


@dataclass(frozen=True, slots=True)
class Scenario:
    """One behaviour of SdI and of the recipient; see the module docstring."""

    name: str = "default"
    outcome: Outcome = Outcome.DELIVER
    codes: tuple[str, ...] = ()
    recipient: str | None = None  # PEC address that gets invoice + MT (a sandbox recipient)
    pa: PaAnswer = PaAnswer.NO_ANSWER
    reason: str | None = None  # EC02 Descrizione
    after_mc: AfterMc = AfterMc.AT
    timing: Timing = field(default_factory=Timing)
    sdi_silent: bool = False
    next_address: str | None = None  # announce another sdiNN from this file on

    def __post_init__(self) -> None:
        for code in self.codes:
            if len(code) != 5 or not code.isdigit():
                raise ValueError(f"scenario {self.name}: SdI codes are 5 digits, not {code!r}")
        if self.outcome is Outcome.SCARTO and not self.codes:
            raise ValueError(f"scenario {self.name}: a scarto needs at least one code")


def _timing(data: Mapping[str, Any]) -> Timing:
    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = type(getattr(Timing(), key))
        if not isinstance(value, kind | int) or isinstance(value, bool) != (kind is bool):
            raise ValueError(f"timing.{key} must be a {kind.__name__}")
        values[key] = kind(value)
    return Timing(**values)


def _scenario(name: str, data: Mapping[str, Any]) -> Scenario:
    """Build a scenario from a TOML table; unknown keys are errors (typos must not pass)."""
    known = {f.name for f in dataclasses.fields(Scenario)} - {"name"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"scenario {name}: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = dict(data)
    timing = values.pop("timing", {})
    timing_fields = {f.name for f in dataclasses.fields(Timing)}
    if not isinstance(timing, Mapping) or set(timing) - timing_fields:
        raise ValueError(f"scenario {name}: timing keys are {sorted(timing_fields)}")
    try:
        return Scenario(
            name=name,
            outcome=Outcome(values.pop("outcome", Outcome.DELIVER)),
            codes=tuple(str(c) for c in values.pop("codes", ())),
            pa=PaAnswer(values.pop("pa", PaAnswer.NO_ANSWER)),
            after_mc=AfterMc(values.pop("after_mc", AfterMc.AT)),
            timing=_timing(timing),
            **values,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scenario {name}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Scenarios:
    """A scenario table: by PEC address, by CodiceDestinatario, and a default."""

    by_codice: Mapping[str, Scenario] = field(default_factory=dict)
    by_recipient: Mapping[str, Scenario] = field(default_factory=dict)
    default: Scenario = field(default_factory=Scenario)

    def for_invoice(self, codice_destinatario: str | None, pec_destinatario: str | None
                    ) -> Scenario:
        """The scenario for an invoice addressed to ``codice_destinatario``/``pec``."""
        pec = (pec_destinatario or "").strip().lower()
        if pec and pec in self.by_recipient:
            return self.by_recipient[pec]
        codice = (codice_destinatario or "").strip().upper()
        if codice == "0000000" and pec:
            # B2B "deliver to the PEC address in the invoice" (domain.md §3.3).
            base = self.by_codice.get("0000000+PEC", self.default)
            return dataclasses.replace(base, recipient=base.recipient or pec)
        return self.by_codice.get(codice, self.default)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Scenarios:
        """Build from the parsed TOML document (tables ``default``, ``codice``, ``recipient``)."""
        unknown = set(data) - {"default", "codice", "recipient"}
        if unknown:
            raise ValueError(f"unknown scenario tables {sorted(unknown)}")
        codici = data.get("codice", {})
        recipients = data.get("recipient", {})
        return cls(
            by_codice={str(k).upper(): _scenario(str(k), v) for k, v in codici.items()},
            by_recipient={str(k).lower(): _scenario(str(k), v) for k, v in recipients.items()},
            default=_scenario("default", data.get("default", {})),
        )

    @classmethod
    def from_toml(cls, text: str) -> Scenarios:
        """Parse a TOML scenario table (see the module docstring)."""
        return cls.from_mapping(tomllib.loads(text))

    def merged(self, other: Scenarios) -> Scenarios:
        """This table with ``other``'s entries on top (``other``'s default wins)."""
        return Scenarios({**self.by_codice, **other.by_codice},
                         {**self.by_recipient, **other.by_recipient}, other.default)


def load_scenarios(path: Path) -> Scenarios:
    """Read a TOML scenario file."""
    return Scenarios.from_toml(path.read_text(encoding="utf-8"))


DEFAULT_TABLE = """
[default]
outcome = "deliver"

[codice."0000000+PEC"]
outcome = "deliver"

[codice."0000000"]
outcome = "mancata-consegna"

[codice.UFF001]
recipient = "uff001@pa.sandbox.test"
pa = "accept"

[codice.UFF002]
recipient = "uff002@pa.sandbox.test"
pa = "refuse"
reason = "Fattura rifiutata: CIG assente o errato"

[codice.UFF003]
recipient = "uff003@pa.sandbox.test"
pa = "no-answer"

[codice.UFF004]
recipient = "uff004@pa.sandbox.test"
outcome = "mancata-consegna"
pa = "at"

[codice.UFF005]
recipient = "uff005@pa.sandbox.test"
outcome = "mancata-consegna"
after_mc = "rc"
pa = "accept"

[codice.SCART1]
outcome = "scarto"
codes = ["00404"]

[codice.SCARTO1]
outcome = "scarto"
codes = ["00404"]

[codice.MANCATA]
outcome = "mancata-consegna"

[codice.RITARDO]
timing = { delay = 7200 }

[codice.DOPPIO1]
timing = { duplicate = true }

[codice.DISORDI]
timing = { out_of_order = true }

[codice.SILENTE]
sdi_silent = true

[codice.CAMBIO1]
next_address = "sdi42@pec.fatturapa.it"
"""

#: The default scenario table (see the module docstring).
DEFAULT_SCENARIOS = Scenarios.from_toml(DEFAULT_TABLE)
