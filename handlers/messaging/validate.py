"""Validate and normalise Albo addresses on entry: e-mail, PEC, Italian mobile, fax, postal.

Each validator returns the normalised value or raises `Invalid` with a reason an operator can
act on (the import report shows it per row). No DNS look-ups: a domain is checked for shape
only, because validation must be pure and repeatable; delivery reports catch dead domains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHANNELS = ("pec", "email", "sms", "fax", "registered-mail")


class Invalid(ValueError):
    """A field cannot be used; the message says why."""


_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def email(value: str) -> str:
    """Return ``value`` as a usable e-mail address (domain lower-cased) or raise `Invalid`."""
    value = value.strip()
    if value.count("@") != 1:
        raise Invalid(f"{value!r}: an e-mail address has exactly one @")
    local, domain = value.rsplit("@", 1)
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise Invalid(f"{value!r}: invalid local part")
    domain = domain.lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")  # internationalised domains
    except UnicodeError as exc:
        raise Invalid(f"{value!r}: invalid domain") from exc
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise Invalid(f"{value!r}: invalid domain {domain!r}")
    if not labels[-1].isalpha() and not labels[-1].startswith("xn--"):
        raise Invalid(f"{value!r}: top-level domain {labels[-1]!r} is not a real one")
    return f"{local}@{domain}"


def pec(value: str) -> str:
    """Return a PEC address (an e-mail address, lower-cased: PEC boxes are case-blind)."""
    return email(value).lower()


def _digits(value: str) -> str:
    raw = re.sub(r"[\s./()-]", "", value.strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not re.fullmatch(r"\+?\d+", raw):
        raise Invalid(f"{value!r}: only digits, spaces and a leading + are allowed")
    return raw


def mobile(value: str) -> str:
    """Return an Italian mobile number in E.164 (``+393xxxxxxxx``) or raise `Invalid`."""
    raw = _digits(value)
    if raw.startswith("+"):
        if not raw.startswith("+39"):
            raise Invalid(f"{value!r}: not an Italian number (+39)")
        national = raw[3:]
    else:
        national = raw
    # Italian mobile numbers start with 3 and have 9 or 10 digits (AGCOM numbering plan).
    if not re.fullmatch(r"3\d{8,9}", national):
        raise Invalid(f"{value!r}: not an Italian mobile number (3xx and 9-10 digits)")
    return "+39" + national


def fax(value: str) -> str:
    """Return a fax number in E.164: Italian landline (0…) or any +CC number; else `Invalid`."""
    raw = _digits(value)
    if not raw.startswith("+"):
        raw = "+39" + raw
    if raw.startswith("+39"):
        # Italian geographic numbers keep their leading 0 and have 6 to 11 digits.
        if not re.fullmatch(r"0\d{5,10}", raw[3:]):
            raise Invalid(f"{value!r}: not an Italian landline fax number (0 and 6-11 digits)")
    elif not re.fullmatch(r"\+[1-9]\d{7,14}", raw):
        raise Invalid(f"{value!r}: not an E.164 number")
    return raw


_SIGLE = """AG AL AN AO AP AQ AR AT AV BA BG BI BL BN BO BR BS BT BZ CA CB CE CH CL CN CO CR CS
    CT CZ
    EN FC FE FG FI FM FR GE GO GR IM IS KR LC LE LI LO LT LU MB MC ME MI MN MO MS MT NA NO NU OR
    PA PC PD PE PG PI PN PO PR PT PU PV PZ RA RC RE RG RI RM RN RO SA SI SO SP SR SS SU SV TA TE
    TN TO TP TR TS TV UD VA VB VC VE VI VR VT VV"""
PROVINCES = frozenset(_SIGLE.split())


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A postal address as registered mail needs it (Poste's fields: DUG+street, CAP, city)."""

    name: str
    street: str
    cap: str
    city: str
    province: str = ""
    country: str = "IT"

    def lines(self) -> tuple[str, ...]:
        """The address block, as printed on the envelope."""
        last = f"{self.cap} {self.city}" + (f" ({self.province})" if self.province else "")
        tail = () if self.country == "IT" else (self.country,)
        return (self.name, self.street, last, *tail)


def postal(
    name: str, street: str, cap: str, city: str, province: str = "", country: str = "IT"
) -> PostalAddress:
    """Return a checked `PostalAddress` or raise `Invalid` naming the bad field."""
    name, street, city = name.strip(), street.strip(), city.strip()
    cap, province, country = cap.strip(), province.strip().upper(), (country.strip() or "IT")
    country = country.upper()
    if not name:
        raise Invalid("postal address: name is empty")
    if not street or not re.search(r"\d|snc|s\.n\.c\.", street, re.IGNORECASE):
        raise Invalid(f"postal address: street {street!r} needs a house number (or 'snc')")
    if not city:
        raise Invalid("postal address: city is empty")
    if country == "IT":
        if not re.fullmatch(r"\d{5}", cap):
            raise Invalid(f"postal address: CAP {cap!r} is not five digits")
        if province not in PROVINCES:
            raise Invalid(f"postal address: province {province!r} is not an Italian sigla")
    elif not re.fullmatch(r"[A-Z]{2}", country):
        raise Invalid(f"postal address: country {country!r} is not an ISO 3166 code")
    return PostalAddress(name, street, cap, city, province, country)
