"""Benchmark: pecora parse+validate vs plain lxml XSD validation (schema compiled once).

Not a test: prints invoices/s for both on the XSD-valid reference invoices, in one run, and
the ratio (target >= 0.5x the baseline). Both sides start from bytes. Run:

    .venv/bin/python bench/bench_fatturapa.py [--ref ../shared/ref] [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.formats.fatturapa import validate_bytes


class _LocalXmldsig(etree.Resolver):
    def __init__(self, local: Path) -> None:
        super().__init__()
        self.local = str(local)

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith("xmldsig-core-schema.xsd"):
            return self.resolve_filename(self.local, context)
        return None


def _schema(ref: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    parser.resolvers.add(_LocalXmldsig(ref / "xsd" / "xmldsig-core-schema.xsd"))
    return etree.XMLSchema(etree.parse(str(ref / "xsd" / "Schema_VFPR12_v1.2.3.xsd"), parser))


def _rate(fn: Callable[[bytes], object], docs: list[bytes], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for d in docs:
            fn(d)
        n += len(docs)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ref", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "ref")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    files = sorted(p for p in (args.ref / "invoices").glob("*.xml") if "ZGEX" not in p.name)
    docs = [p.read_bytes() for p in files]
    schema = _schema(args.ref)
    xml_parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)

    def baseline(d: bytes) -> bool:
        return bool(schema.validate(etree.fromstring(d, xml_parser)))

    assert all(baseline(d) for d in docs)
    for d in docs:  # warm-up, and a sanity check that both agree these are schema-valid
        assert not [f for f in validate_bytes(d) if f.code == "00200"]
    avg = sum(map(len, docs)) / len(docs)
    base = _rate(baseline, docs, args.seconds)
    ours = _rate(validate_bytes, docs, args.seconds)
    print(f"{len(docs)} reference invoices, average {avg / 1024:.1f} KiB")
    print(f"lxml parse + XSD 1.2.3 validate (baseline): {base:9.0f} invoices/s")
    print(f"pecora parse + structural + SdI checks:     {ours:9.0f} invoices/s")
    print(f"ratio: {ours / base:.2f}x (target >= 0.50x)")


if __name__ == "__main__":
    main()
