"""XML from outside, read safely: no entity expansion, no DTD loading, no network, no huge trees.

Every lxml parse of fetched or imported XML uses ``safe_parser``. Feeds are read by
feedparser, whose lenient fallback expands the entities a document declares (a few kilobytes
of declarations can become gigabytes of text), so a feed that declares entities first goes
through ``without_entity_declarations``. Scrapy reads sitemaps with ``resolve_entities=False``
and lxml's defaults (no network, no DTD, no huge trees), which comes to the same.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree

_ENTITY = b"<!ENTITY"
# What may precede a DOCTYPE: white space, the XML declaration, processing instructions, comments.
_PROLOG_MISC = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
# Inside a DOCTYPE, what matters is where its subset opens and closes; quoted literals,
# comments and processing instructions may contain brackets and are skipped whole.
_DOCTYPE_TOKEN = re.compile(rb"[\"'\[\]>]|<!--|<\?")
_CLOSERS = {b'"': b'"', b"'": b"'", b"<!--": b"-->", b"<?": b"?>"}
# Where feedparser takes the document's head to end.
_ELEMENT_START = re.compile(rb"<\w")


def safe_parser() -> Any:
    """An lxml XML parser that never expands entities, loads a DTD or touches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes) -> Any:
    """The root element of ``data``; ``etree.XMLSyntaxError`` if it is not well-formed."""
    return etree.fromstring(data, safe_parser())


class UnsafeEntitiesError(ValueError):
    """Entity declarations that could not be taken out of a document."""


def without_entity_declarations(data: bytes) -> bytes | None:
    """``data`` without its DOCTYPE's internal subset if that declares entities; else None.

    The references stay in the text, unexpanded: a strict parser then stops at the first one
    and feedparser's lenient one keeps them as text (or reads them as the HTML entities they
    often are). ``UnsafeEntitiesError`` when declarations remain where feedparser would still
    find them (a prolog this cannot read). Expects ASCII-compatible bytes: decode UTF-16 and
    UTF-32 documents first.
    """
    if _ENTITY not in data:
        return None
    subset = _internal_subset(data)
    declared = subset is not None and _ENTITY in data[subset[0] : subset[1]]
    if subset is not None and declared:
        data = data[: subset[0]] + data[subset[1] :]
    first_element = _ELEMENT_START.search(data)
    if _ENTITY in data[: first_element.start() if first_element else len(data)]:
        raise UnsafeEntitiesError("entity declarations outside a readable DOCTYPE")
    return data if declared else None


def _internal_subset(data: bytes) -> tuple[int, int] | None:
    """Where the ``[...]`` of the prolog's DOCTYPE starts and ends, if it has one."""
    position = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    while (misc := _PROLOG_MISC.match(data, position)) is not None and misc.end() > position:
        position = misc.end()
    if not data.startswith(b"<!DOCTYPE", position):
        return None
    start = None
    position += len(b"<!DOCTYPE")
    while (token := _DOCTYPE_TOKEN.search(data, position)) is not None:
        text = token[0]
        if text in _CLOSERS:  # skipped whole: it may hold brackets
            end = data.find(_CLOSERS[text], token.end())
            if end < 0:
                return None
            position = end + len(_CLOSERS[text])
            continue
        position = token.end()
        if start is None and text == b"[":
            start = token.start()
        elif start is not None and text == b"]":
            return start, token.end()
        elif start is None and text == b">":
            return None  # a DOCTYPE without an internal subset
    return None
