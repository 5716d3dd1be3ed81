"""Parse untrusted XML safely: no entities, no DTD loading, no network, bounded size.

Every XML that reaches pecora comes from outside (suppliers, SdI, PEC providers), so the
one parser configuration below is the only way the codecs turn bytes into a tree.
"""

from __future__ import annotations

import threading

from lxml import etree

#: Largest XML document accepted (SdI caps a file at 5 MB; PEC messages at 30 MB).
MAX_XML_BYTES = 32 * 1024 * 1024


class UnsafeXml(ValueError):
    """The document uses a construct pecora refuses (DOCTYPE, entities) or is too large."""


class MalformedXml(ValueError):
    """The document is not well-formed XML."""


def _parser(drop_blank_text: bool = False) -> etree.XMLParser:
    # resolve_entities=False keeps entity references unexpanded (billion laughs),
    # no_network and load_dtd=False keep lxml from fetching anything,
    # huge_tree=False keeps libxml2's own limits on text node size and depth.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=drop_blank_text,
        remove_comments=False,
    )


_LOCAL = threading.local()


def _thread_parser(drop_blank_text: bool) -> etree.XMLParser:
    # One parser per thread: lxml parsers are reusable but not thread-safe, and building one
    # per document costs about as much as a tenth of parsing a typical invoice.
    name = "dropping" if drop_blank_text else "keeping"
    parser: etree.XMLParser | None = getattr(_LOCAL, name, None)
    if parser is None:
        parser = _parser(drop_blank_text)
        setattr(_LOCAL, name, parser)
    return parser


def parse(data: bytes, *, max_bytes: int = MAX_XML_BYTES,
          drop_blank_text: bool = False) -> etree._Element:
    """Return the root element of ``data``; raise `UnsafeXml` or `MalformedXml`.

    A DOCTYPE is refused outright: no FatturaPA, SdI or PEC document carries one, and it is
    the vehicle of every entity attack. ``drop_blank_text`` lets libxml2 leave out the
    whitespace-only text between elements (indentation; a whitespace-only leaf keeps its
    text): faster to parse and to read, but never for signed content (C14N needs every node).
    """
    if len(data) > max_bytes:
        raise UnsafeXml(f"XML document too large: {len(data)} bytes (limit {max_bytes})")
    try:
        tree = etree.fromstring(data, _thread_parser(drop_blank_text))
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"not well-formed XML: {exc}") from exc
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml("XML with a DOCTYPE is refused (entities and DTDs are not allowed)")
    for node in tree.iter(etree.Entity):  # an unexpanded entity reference survived
        raise UnsafeXml(f"XML entity reference &{node.name}; is refused")
    return tree
