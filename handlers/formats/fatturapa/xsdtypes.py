"""The simple types of the FatturaPA 1.2.3 XSD, as data: check, format and read one leaf value.

Each model field names one `SimpleType`. The same object serves three jobs so they cannot drift:
* `check` — is a *model value* acceptable (what the structural validator reports, XSD facets:
  pattern, length, enumeration, digits, ranges);
* `to_text` — the lexical form the writer emits (domain.md §1.2 "Lexical traps": amounts always
  with ``.`` and at least two decimals, never exponent notation; the writer never rounds);
* `from_text` — the reader's conversion, which also checks the *lexical* form (``1`` is not a
  valid ``Quantita`` although ``Decimal("1")`` is a fine value).

Whitespace follows XSD: ``xs:normalizedString`` replaces TAB/CR/LF by spaces before the pattern,
``xs:token``/``collapse`` also trims and squeezes, numeric and date types collapse.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from . import codes

Kind = Literal["str", "dec", "int", "date", "datetime", "b64"]
Ws = Literal["preserve", "replace", "collapse"]

# Characters XML 1.0 can carry at all (lxml refuses the others when writing).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WS_REPLACE = str.maketrans("\t\n\r", "   ")
_WS_RUN = re.compile(" {2,}")
# XML 1.0 characters (the complement of _NOT_XML_CHAR), for the `accept` regexes.
_XML_CHAR = "\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff"


@dataclass(frozen=True, slots=True)
class SimpleType:
    """One XSD simple type; only the facets FatturaPA uses."""

    name: str
    kind: Kind
    ws: Ws = "preserve"
    pattern: re.Pattern[str] | None = None
    min_len: int | None = None
    max_len: int | None = None
    enum: frozenset[str] | None = None
    # decimals: lexical pattern (reader), decimals the writer pads to, max decimals and
    # integer digits (value check), sign and upper bound
    lexical: re.Pattern[str] | None = None
    min_dec: int = 0
    max_dec: int = 0
    int_digits: int = 0
    signed: bool = False
    max_value: Decimal | None = None
    # integers / dates
    min_int: int | None = None
    max_int: int | None = None
    min_date: date | None = None
    # Reader fast path for text kinds: a regex over the *raw* element text whose full match
    # guarantees that `check` accepts that text (XML characters, whitespace handling, lengths
    # and pattern in one C-level match). None: the reader runs `check` itself. Never widens
    # the type: a text it does not match still goes through `check`.
    accept: re.Pattern[str] | None = None


def _norm(st: SimpleType, text: str) -> str:
    if st.ws == "preserve":
        return text
    text = text.translate(_WS_REPLACE)
    if st.ws == "collapse":
        text = _WS_RUN.sub(" ", text.strip(" "))
    return text


def _basic(n: int, m: int) -> re.Pattern[str]:
    return re.compile(f"[\\x00-\\x7f]{{{n},{m}}}")


def _latin(n: int, m: int) -> re.Pattern[str]:
    return re.compile(f"[\\x00-\\xff]{{{n},{m}}}")


def _chars(cls: str, n: int, m: int) -> re.Pattern[str]:
    return re.compile(f"[{cls}]{{{n},{m}}}")


def _s(name: str, n: int, m: int) -> SimpleType:
    """``StringNNType``: normalizedString of Basic Latin characters."""
    # accept: TAB/CR/LF become spaces (same length), the rest must be printable Basic Latin
    return SimpleType(name, "str", "replace", pattern=_basic(n, m),
                      accept=_chars("\\t\\n\\r\\x20-\\x7f", n, m))


def _sl(name: str, m: int) -> SimpleType:
    """``StringNNLatinType``: normalizedString of Basic Latin + Latin-1 Supplement."""
    return SimpleType(name, "str", "replace", pattern=_latin(1, m),
                      accept=_chars("\\t\\n\\r\\x20-\\xff", 1, m))


def _enum(name: str, values: type[StrEnum], length: int | None = None) -> SimpleType:
    return SimpleType(
        name, "str", enum=frozenset(v.value for v in values), min_len=length, max_len=length
    )


def _p(name: str, regex: str) -> SimpleType:
    """A pattern-only type: the patterns used admit only ASCII letters/digits (XML characters,
    no whitespace), so the pattern itself is the accept regex."""
    pattern = re.compile(regex)
    return SimpleType(name, "str", pattern=pattern, accept=pattern)


def _dec(name: str, lex: str, min_dec: int, max_dec: int, digits: int, signed: bool,
         max_value: Decimal | None = None) -> SimpleType:
    return SimpleType(name, "dec", "collapse", lexical=re.compile(lex), min_dec=min_dec,
                      max_dec=max_dec, int_digits=digits, signed=signed, max_value=max_value)


def _int(name: str, lo: int, hi: int) -> SimpleType:
    return SimpleType(name, "int", "collapse", min_int=lo, max_int=hi)


STRING10 = _s("String10Type", 1, 10)
STRING15 = _s("String15Type", 1, 15)
STRING20 = _s("String20Type", 1, 20)
STRING35 = _s("String35Type", 1, 35)
STRING60 = _s("String60Type", 1, 60)
STRING35_LATIN_EXT = SimpleType("String35LatinExtType", "str", "replace", min_len=1, max_len=35,
                                accept=_chars(_XML_CHAR, 1, 35))
LATIN60 = _sl("String60LatinType", 60)
LATIN80 = _sl("String80LatinType", 80)
LATIN100 = _sl("String100LatinType", 100)
LATIN200 = _sl("String200LatinType", 200)
LATIN1000 = _sl("String1000LatinType", 1000)
TITOLO = SimpleType("TitoloType", "str", "collapse", pattern=_basic(2, 10))
NUMERO_CIVICO = _s("NumeroCivicoType", 1, 8)
TELFAX = _s("TelFaxType", 5, 12)
CODICE = SimpleType("CodiceType", "str", min_len=1, max_len=28, accept=_chars(_XML_CHAR, 1, 28))
COD_EORI = SimpleType("CodEORIType", "str", min_len=13, max_len=17,
                      accept=_chars(_XML_CHAR, 13, 17))
CODICE_DESTINATARIO = _p("CodiceDestinatarioType", "[A-Z0-9]{6,7}")
CODICE_FISCALE = _p("CodiceFiscaleType", "[A-Z0-9]{11,16}")
CODICE_FISCALE_PF = _p("CodiceFiscalePFType", "[A-Z0-9]{16}")
NAZIONE = _p("NazioneType", "[A-Z]{2}")
PROVINCIA = _p("ProvinciaType", "[A-Z]{2}")
DIVISA = _p("DivisaType", "[A-Z]{3}")
TIPO_RESA = _p("TipoResaType", "[A-Z]{3}")
CAP = _p("CAPType", "[0-9]{5}")
ABI = _p("ABIType", "[0-9]{5}")
CAB = _p("CABType", "[0-9]{5}")
IBAN = _p("IBANType", "[a-zA-Z]{2}[0-9]{2}[a-zA-Z0-9]{11,30}")
BIC = _p("BICType", "[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3}){0,1}")
# EmailType is an xs:token; the pattern is the XSD's, transcribed (XSD '.' = [^\n\r]).
_ATOM = r"[!#-'*+/-9=?A-Z^-~-]+(\.[!#-'*+/-9=?A-Z^-~-]+)*"
EMAIL = SimpleType(
    "EmailType", "str", "collapse", max_len=256,
    pattern=re.compile(
        f'({_ATOM}|"(\\[\\]!#-[^-~ \\t]|(\\\\[\\t -~]))+")@({_ATOM}|\\[[\\t -Z^-~]*\\])'
    ),
)
EMAIL_CONTATTI = SimpleType("EmailContattiType", "str", min_len=7, max_len=256,
                            pattern=re.compile(r"[^\n\r]+@[^\n\r]+[.]+[^\n\r]+"))

FORMATO_TRASMISSIONE = _enum("FormatoTrasmissioneType", codes.FormatoTrasmissione, 5)
TIPO_DOCUMENTO = _enum("TipoDocumentoType", codes.TipoDocumento, 4)
NATURA = _enum("NaturaType", codes.Natura)
REGIME_FISCALE = _enum("RegimeFiscaleType", codes.RegimeFiscale, 4)
MODALITA_PAGAMENTO = _enum("ModalitaPagamentoType", codes.ModalitaPagamento, 4)
CONDIZIONI_PAGAMENTO = _enum("CondizioniPagamentoType", codes.CondizioniPagamento, 4)
TIPO_RITENUTA = _enum("TipoRitenutaType", codes.TipoRitenuta, 4)
CAUSALE_PAGAMENTO = _enum("CausalePagamentoType", codes.CausalePagamento)
TIPO_CASSA = _enum("TipoCassaType", codes.TipoCassa, 4)
ESIGIBILITA_IVA = _enum("EsigibilitaIVAType", codes.EsigibilitaIVA, 1)
TIPO_SCONTO = _enum("TipoScontoMaggiorazioneType", codes.TipoScontoMaggiorazione, 2)
TIPO_CESSIONE = _enum("TipoCessionePrestazioneType", codes.TipoCessionePrestazione, 2)
SOGGETTO_EMITTENTE = _enum("SoggettoEmittenteType", codes.SoggettoEmittente, 2)
SOCIO_UNICO = _enum("SocioUnicoType", codes.SocioUnico)
STATO_LIQUIDAZIONE = _enum("StatoLiquidazioneType", codes.StatoLiquidazione)
SI = SimpleType("SIType", "str", enum=frozenset({"SI"}))  # Ritenuta, Art73, BolloVirtuale

AMOUNT2 = _dec("Amount2DecimalType", r"-?[0-9]{1,11}\.[0-9]{2}", 2, 2, 11, True)
AMOUNT8 = _dec("Amount8DecimalType", r"-?[0-9]{1,11}\.[0-9]{2,8}", 2, 8, 11, True)
RATE = _dec("RateType", r"[0-9]{1,3}\.[0-9]{2}", 2, 2, 3, False, Decimal("100.00"))
QUANTITA = _dec("QuantitaType", r"[0-9]{1,12}\.[0-9]{2,8}", 2, 8, 12, False)
PESO = _dec("PesoType", r"[0-9]{1,4}\.[0-9]{1,2}", 1, 2, 4, False)

NUMERO_LINEA = _int("NumeroLineaType", 1, 9999)
RIF_NUMERO_LINEA = _int("RiferimentoNumeroLineaType", 1, 9999)
RIFERIMENTO_FASE = _int("RiferimentoFaseType", 1, 999)
NUMERO_COLLI = _int("NumeroColliType", 1, 9999)
GIORNI_TERMINI = _int("GiorniTerminePagamentoType", 0, 999)

DATE = SimpleType("xs:date", "date", "collapse")
DATA_FATTURA = SimpleType("DataFatturaType", "date", "collapse", min_date=date(1970, 1, 1))
DATETIME = SimpleType("xs:dateTime", "datetime", "collapse")
BASE64 = SimpleType("xs:base64Binary", "b64", "collapse")

_INT_LEX = re.compile(r"[+-]?[0-9]+")
_DATE_LEX = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?")
_DATETIME_LEX = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _decimals(value: Decimal) -> tuple[int, int]:
    """(integer digits, decimals) of the shortest plain notation of ``value``."""
    text = format(value.normalize(), "f").lstrip("-")
    whole, _, frac = text.partition(".")
    return len(whole.lstrip("0")) or 1, len(frac)


def check(st: SimpleType, value: Any) -> str | None:
    """English reason why ``value`` is not a valid ``st``, or None."""
    if st.kind == "str":
        if not isinstance(value, str):
            return f"expected text, got {type(value).__name__}"
        bad = _NOT_XML_CHAR.search(value)
        if bad:
            return f"character U+{ord(bad.group()):04X} cannot appear in XML"
        text = _norm(st, value)
        if st.min_len is not None and len(text) < st.min_len:
            return f"{st.name}: shorter than {st.min_len} characters"
        if st.max_len is not None and len(text) > st.max_len:
            return f"{st.name}: longer than {st.max_len} characters"
        if st.enum is not None and text not in st.enum:
            return f"{st.name}: {text!r} is not an allowed code"
        if st.pattern is not None and st.pattern.fullmatch(text) is None:
            return f"{st.name}: {text[:40]!r} does not match the pattern (length/characters)"
        return None
    if st.kind == "dec":
        if not isinstance(value, Decimal) or not value.is_finite():
            return f"{st.name}: expected a finite Decimal, got {value!r}"
        if value < 0 and not st.signed:
            return f"{st.name}: negative value {value}"
        digits, decs = _decimals(value)
        if decs > st.max_dec:
            return f"{st.name}: {value} has more than {st.max_dec} decimals"
        if digits > st.int_digits:
            return f"{st.name}: {value} has more than {st.int_digits} integer digits"
        if st.max_value is not None and value > st.max_value:
            return f"{st.name}: {value} exceeds {st.max_value}"
        return None
    if st.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{st.name}: expected an integer, got {value!r}"
        assert st.min_int is not None and st.max_int is not None
        if not st.min_int <= value <= st.max_int:
            return f"{st.name}: {value} outside {st.min_int}..{st.max_int}"
        return None
    if st.kind == "date":
        if not isinstance(value, date) or isinstance(value, datetime):
            return f"{st.name}: expected a date, got {value!r}"
        if st.min_date is not None and value < st.min_date:
            return f"{st.name}: {value} is before {st.min_date}"
        return None
    if st.kind == "datetime":
        return None if isinstance(value, datetime) else f"expected a datetime, got {value!r}"
    return None if isinstance(value, bytes) else f"expected bytes, got {type(value).__name__}"


def to_text(st: SimpleType, value: Any) -> str:
    """Lexical form written to XML (assumes `check` passed; never rounds)."""
    kind = st.kind
    if kind == "str":
        return str(value)
    if kind == "dec":
        if not value.is_finite():
            return str(value)
        text = format(value.normalize(), "f")
        if text.startswith("-") and value == 0:
            text = text[1:]  # -0 is 0; patterns without a sign would refuse "-0.00"
        whole, _, frac = text.partition(".")
        if len(frac) < st.min_dec:
            frac += "0" * (st.min_dec - len(frac))
        return f"{whole}.{frac}" if frac else whole
    if kind == "int":
        return str(int(value))
    if kind in ("date", "datetime"):
        return str(value.isoformat())
    return base64.b64encode(value).decode("ascii")


def from_text(st: SimpleType, text: str) -> tuple[Any, str | None]:
    """(value, lexical error or None) for the text of one element."""
    kind = st.kind
    if kind == "str":
        return text, None
    text = text.strip(" \t\r\n")
    if kind == "dec":
        assert st.lexical is not None
        err = None if st.lexical.fullmatch(text) else f"{st.name}: invalid lexical form {text!r}"
        try:
            return Decimal(text), err
        except InvalidOperation:
            return None, err
    if kind == "int":
        if _INT_LEX.fullmatch(text) is None:
            return None, f"{st.name}: {text!r} is not an integer"
        return int(text), None
    if kind == "date":
        m = _DATE_LEX.fullmatch(text)
        try:
            return (date.fromisoformat(text[:10]), None) if m else (None, f"invalid date {text!r}")
        except ValueError:
            return None, f"invalid date {text!r}"
    if kind == "datetime":
        try:
            if _DATETIME_LEX.fullmatch(text):
                return datetime.fromisoformat(text), None
        except ValueError:
            pass
        return None, f"invalid dateTime {text!r}"
    try:
        return base64.b64decode("".join(text.split()), validate=True), None
    except (binascii.Error, ValueError):
        return None, "Attachment is not valid base64"
