"""Turn one CSV row of an Albo export into a checked member, or say why it is rejected.

Known columns: ``member_id``, ``name``, ``email``, ``pec``, ``mobile``, ``fax``, ``street``,
``cap``, ``city``, ``province``, ``country``, ``tags`` and ``opt_out`` (``;``-separated),
``consent_<channel>`` (yes/no). Every other column becomes a template field. A row with a bad
address is rejected whole: importing it without that address would silently change whom the
next campaign reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.messaging import validate
from handlers.messaging.validate import CHANNELS, Invalid

_KNOWN = {"member_id", "name", "email", "pec", "mobile", "fax", "street", "cap", "city"}
_KNOWN |= {"province", "country", "tags", "opt_out"}
_YES, _NO = {"yes", "y", "si", "sì", "true", "1", "x"}, {"no", "n", "false", "0"}


@dataclass(frozen=True, slots=True)
class MemberData:
    """A member ready to be stored."""

    member_id: str
    name: str
    email: str | None = None
    pec: str | None = None
    mobile: str | None = None
    fax: str | None = None
    postal: dict[str, str] | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    consent: dict[str, bool] = field(default_factory=dict)
    opted_out: tuple[str, ...] = ()

    def addresses(self) -> dict[str, str]:
        """The address per channel this member can be reached at."""
        out = {"email": self.email, "pec": self.pec, "sms": self.mobile, "fax": self.fax}
        if self.postal:
            out["registered-mail"] = ", ".join(
                v for k, v in self.postal.items() if k != "country" and v
            )
        return {k: v for k, v in out.items() if v}


def _split(value: str) -> tuple[str, ...]:
    return tuple(sorted({x.strip() for x in value.replace("|", ";").split(";") if x.strip()}))


def parse_row(row: Mapping[str, str | None]) -> MemberData:
    """Validate one row; raise `Invalid` with the first problem found."""
    get = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    member_id, name = get.get("member_id", ""), get.get("name", "")
    if not member_id:
        raise Invalid("member_id is empty")
    if not name:
        raise Invalid("name is empty")
    email = validate.email(get["email"]) if get.get("email") else None
    pec = validate.pec(get["pec"]) if get.get("pec") else None
    mobile = validate.mobile(get["mobile"]) if get.get("mobile") else None
    fax = validate.fax(get["fax"]) if get.get("fax") else None
    postal = None
    if any(get.get(k) for k in ("street", "cap", "city")):
        addr = validate.postal(
            name,
            get.get("street", ""),
            get.get("cap", ""),
            get.get("city", ""),
            get.get("province", ""),
            get.get("country", "") or "IT",
        )
        postal = {
            "name": addr.name,
            "street": addr.street,
            "cap": addr.cap,
            "city": addr.city,
            "province": addr.province,
            "country": addr.country,
        }
    consent: dict[str, bool] = {}
    for channel in CHANNELS:
        raw = get.get(f"consent_{channel.replace('-', '_')}", "").lower()
        if raw in _YES:
            consent[channel] = True
        elif raw in _NO:
            consent[channel] = False
        elif raw:
            raise Invalid(f"consent_{channel}: {raw!r} is neither yes nor no")
    opted_out = _split(get.get("opt_out", ""))
    unknown = set(opted_out) - set(CHANNELS)
    if unknown:
        raise Invalid(f"opt_out: unknown channel(s) {', '.join(sorted(unknown))}")
    fields = {
        k: v for k, v in get.items() if k not in _KNOWN and not k.startswith("consent_") and v
    }
    return MemberData(
        member_id,
        name,
        email,
        pec,
        mobile,
        fax,
        postal,
        fields,
        _split(get.get("tags", "")),
        consent,
        opted_out,
    )
