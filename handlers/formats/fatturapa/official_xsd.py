"""The official FatturaPA 1.2.3 XSD as an optional second opinion, compiled once from bytes.

pecora's own structural validation (`structure`, `walk`) needs no schema file: the model is the
schema. An operator who installs the Agenzia delle Entrate's published files (``pecora schemas
install DIR``) also gets every invoice validated by libxml2 against them, so a disagreement
between the two (a bug on our side, or a new schema release) shows as a finding instead of
as an SdI rejection. The files are public documents, not part of this repository; this module
takes their bytes (reading them is the caller's I/O) and never touches the network: the
schema's import of the W3C xmldsig schema is answered from the bytes given.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from handlers.formats import xmlsafe

from .errors import Finding
from .model import NAMESPACE

#: The file names the Agenzia delle Entrate publishes (and the W3C schema it imports).
SCHEMA_FILE = "Schema_VFPR12_v1.2.3.xsd"
XMLDSIG_FILE = "xmldsig-core-schema.xsd"


class SchemaError(ValueError):
    """The bytes given are not a usable FatturaPA schema (with its xmldsig import)."""


class _Xmldsig(etree.Resolver):  # type: ignore[misc]  # lxml-stubs leave it untyped
    """Answer the import of xmldsig-core-schema.xsd from memory: no network, ever."""

    def __init__(self, xmldsig: bytes) -> None:
        super().__init__()
        self.xmldsig = xmldsig

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith(XMLDSIG_FILE):
            return self.resolve_string(self.xmldsig, context)
        return None  # anything else stays unresolved (and no_network refuses to fetch it)


class OfficialSchema:
    """A compiled official schema; `findings` validates one invoice's XML bytes."""

    def __init__(self, xsd: bytes, xmldsig: bytes) -> None:
        # The schema files are the operator's own install, and still parsed with the network
        # off and entities unexpanded. (Not through `xmlsafe`: the W3C xmldsig schema
        # carries a DOCTYPE, which `xmlsafe` rightly refuses in documents from outside.)
        parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
        parser.resolvers.add(_Xmldsig(xmldsig))
        try:
            doc = etree.fromstring(xsd, parser)
            self.schema = etree.XMLSchema(doc)
        except (etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
            raise SchemaError(f"not a usable FatturaPA schema: {exc}") from exc
        if doc.get("targetNamespace") != NAMESPACE:
            raise SchemaError(f"schema for {doc.get('targetNamespace')!r}, not FatturaPA 1.2")

    def findings(self, data: bytes) -> list[Finding]:
        """00200 findings for what the official schema refuses in ``data`` (readable XML)."""
        tree = xmlsafe.parse(data)
        if self.schema.validate(tree):
            return []
        return [Finding("00200", err.path or "/",
                        f"File non conforme allo schema XSD ufficiale: {err.message}",
                        f"not valid against the official XSD: {err.message}")
                for err in self.schema.error_log]

