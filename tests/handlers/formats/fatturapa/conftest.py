"""Fixtures: the official 1.2.3 XSD compiled once (network off, xmldsig resolved locally)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from tests.support.ref import ref_path


class _LocalXmldsig(etree.Resolver):
    """Map the W3C xmldsig schema URL to the local copy: no network, ever."""

    def __init__(self, local: str) -> None:
        super().__init__()
        self.local = local

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith("xmldsig-core-schema.xsd"):
            return self.resolve_filename(self.local, context)
        return None


def compile_xsd(name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    parser.resolvers.add(_LocalXmldsig(str(ref_path("xsd", "xmldsig-core-schema.xsd"))))
    return etree.XMLSchema(etree.parse(str(ref_path("xsd", name)), parser))


@pytest.fixture(scope="session")
def xsd123() -> etree.XMLSchema:
    """Schema_VFPR12_v1.2.3.xsd (starts with a UTF-8 BOM; lxml handles it)."""
    return compile_xsd("Schema_VFPR12_v1.2.3.xsd")


def xsd_errors(schema: etree.XMLSchema, data: bytes) -> list[str]:
    doc = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    ok = schema.validate(doc)
    return [] if ok else [str(e) for e in schema.error_log]
