"""Benchmark: pecora parse+validate vs plain lxml XSD validation and the Python peers.

Not a test: prints, in one run on the XSD-valid reference invoices, invoices/s for
* lxml parse + XSD 1.2.3 validation, schema compiled once (the baseline; target >= 0.5x);
* pecora ``validate_bytes`` (parse + structural + SdI content checks);
* a38 (PyPI ``a38``): parse with defusedxml, ``auto_from_etree`` + ``validate``;
* fattura-elettronica-reader (PyPI): its library functions ``is_xml_file_conforming_to_schema``
  and ``parse_xml_file``, on files (its API takes paths and compiles the schema per call);
and, when ``bench/bench_p7m.py`` is there, p7m unwrap/s and verify/s with its functions.
A peer that is not installed is skipped with a note. Every side starts from bytes (or a file).
Each figure is the best of ``--rounds`` timed rounds (the machine is shared). Run:

    .venv/bin/python bench/bench_fatturapa.py [--ref ../shared/ref] [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.formats.fatturapa import validate_bytes

_XSD = "Schema_VFPR12_v1.2.3.xsd"
_DSIG = "xmldsig-core-schema.xsd"


class _LocalXmldsig(etree.Resolver):
    def __init__(self, local: Path) -> None:
        super().__init__()
        self.local = str(local)

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith(_DSIG):
            return self.resolve_filename(self.local, context)
        return None


def _schema(ref: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    parser.resolvers.add(_LocalXmldsig(ref / "xsd" / _DSIG))
    return etree.XMLSchema(etree.parse(str(ref / "xsd" / _XSD), parser))


def _rate(fn: Callable[[Any], object], items: list[Any], seconds: float, rounds: int) -> float:
    """Best calls/s over ``rounds`` rounds of about ``seconds`` each (after one warm-up pass)."""
    for item in items:
        fn(item)
    best = 0.0
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for item in items:
                fn(item)
            n += len(items)
        best = max(best, n / (time.perf_counter() - start))
    return best


def _a38() -> tuple[Callable[[bytes], object] | None, str]:
    if importlib.util.find_spec("a38") is None:
        return None, "a38 not installed (pip install a38): skipped"
    import defusedxml.ElementTree as safe_et
    from a38.fattura import auto_from_etree
    from a38.validation import Validation

    def run(data: bytes) -> object:
        try:
            invoice = auto_from_etree(safe_et.fromstring(data))
            validation = Validation()
            invoice.validate(validation)
            return validation.errors
        except Exception as exc:  # a peer failing on a file is a result too
            return exc

    return run, ""


def _fer(ref: Path, tmp: Path) -> tuple[Callable[[str], object] | None, str]:
    if importlib.util.find_spec("fattura_elettronica_reader") is None:
        return None, ("fattura-elettronica-reader not installed "
                      "(pip install --no-deps fattura-elettronica-reader fpyutils appdirs "
                      "filetype PyYAML): skipped")
    from fattura_elettronica_reader import api
    from fattura_elettronica_reader import constants as const

    # What its pipeline does: a copy of the schema whose xmldsig import points next to it.
    for name in (_XSD, _DSIG):
        shutil.copy(ref / "xsd" / name, tmp / name)
    fix = const.patch["invoice_file"]["xsd"]["line"][0]
    api.patch_invoice_schema_file(str(tmp / _XSD), fix["offending"], fix["fix"])
    xsd = str(tmp / _XSD)

    def run(path: str) -> object:
        ok = api.is_xml_file_conforming_to_schema(path, xsd)
        return ok, api.parse_xml_file(path)

    return run, ""


def _p7m_rates(ref: Path, seconds: float) -> list[tuple[str, int, float, float]] | str:
    script = Path(__file__).with_name("bench_p7m.py")
    if not script.exists():
        return "bench/bench_p7m.py not found: p7m figures skipped"
    spec = importlib.util.spec_from_file_location("bench_p7m", script)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    trust = mod.TrustStore()
    out = []
    for path in sorted((ref / "invoices").glob("*.p7m")):
        data = path.read_bytes()
        unwrap = mod.rate(lambda d=data: mod.p7m.unwrap(d), seconds)
        verify = mod.rate(lambda d=data: mod.p7m.verify(d, trust), seconds)
        out.append((path.name, len(data), unwrap, verify))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ref", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "ref")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    files = sorted(p for p in (args.ref / "invoices").glob("*.xml") if "ZGEX" not in p.name)
    docs = [p.read_bytes() for p in files]
    schema = _schema(args.ref)
    xml_parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)

    def baseline(d: bytes) -> bool:
        return bool(schema.validate(etree.fromstring(d, xml_parser)))

    assert all(baseline(d) for d in docs)
    for d in docs:  # a sanity check that both agree these are schema-valid
        assert not [f for f in validate_bytes(d) if f.code == "00200"]
    avg = sum(map(len, docs)) / len(docs)
    print(f"{len(docs)} reference invoices, average {avg / 1024:.1f} KiB; "
          f"best of {args.rounds} x {args.seconds:g} s")

    rows: list[tuple[str, float | None, str]] = []
    base = _rate(baseline, docs, args.seconds, args.rounds)
    rows.append(("lxml parse + XSD 1.2.3 (baseline)", base, ""))
    rows.append(("pecora validate_bytes", _rate(validate_bytes, docs, args.seconds, args.rounds),
                 "parse + structural + SdI content checks"))
    a38_run, note = _a38()
    if a38_run is not None:
        failed = sum(isinstance(a38_run(d), Exception) for d in docs)
        note = f"{failed} of {len(docs)} files raise" if failed else ""
        rows.append(("a38", _rate(a38_run, docs, args.seconds, args.rounds), note))
    else:
        rows.append(("a38", None, note))
    with tempfile.TemporaryDirectory(prefix="bench-fatturapa-") as tmp_name:
        tmp = Path(tmp_name)
        fer_run, note = _fer(args.ref, tmp)
        if fer_run is not None:
            paths = []
            for f in files:  # its API reads files: give it its own copies
                shutil.copy(f, tmp / f.name)
                paths.append(str(tmp / f.name))
            note = "schema compiled per call (its API)"
            rows.append(("fattura-elettronica-reader",
                         _rate(fer_run, paths, args.seconds, args.rounds), note))
        else:
            rows.append(("fattura-elettronica-reader", None, note))

    ours = rows[1][1]
    assert ours is not None
    print(f"\n{'parse + validate':36} {'invoices/s':>11} {'vs lxml':>8} {'pecora is':>10}")
    for name, rate, note in rows:
        if rate is None:
            print(f"{name:36} {'-':>11} {'':>8} {'':>10}  {note}")
            continue
        print(f"{name:36} {rate:11.0f} {rate / base:7.2f}x {ours / rate:9.1f}x  {note}")
    print(f"\ntarget: pecora >= 0.50x the baseline (now {ours / base:.2f}x), >= 20x a38")

    p7m = _p7m_rates(args.ref, args.seconds)
    if isinstance(p7m, str):
        print(f"\n{p7m}")
        return
    print(f"\n{'p7m file':44} {'bytes':>7} {'unwrap/s':>10} {'verify/s':>10}")
    for name, size, unwrap, verify in p7m:
        print(f"{name:44} {size:7d} {unwrap:10.0f} {verify:10.0f}")


if __name__ == "__main__":
    main()
