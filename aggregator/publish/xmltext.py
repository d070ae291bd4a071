"""Escaping for XML written as text: the Atom and RSS feeds are string templates, not trees.

A feed has a fixed shape, and building it as an lxml tree cost more than anything else in a
build (lxml checks every string handed to it, one element at a time). These two functions are
the only way a value gets into that text; they escape the way libxml2 serialises, so the
documents are the same bytes an lxml tree would give.

They do not look for characters XML cannot carry: every ``Entry`` string has already passed
``plain_text``, ``sanitize_body`` or ``safe_url``, which drop them, and the renderers pass
feed-level strings (titles, links, ids) through ``clean_xml_chars``.
"""

from __future__ import annotations

XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def text(value: str) -> str:
    """``value`` as element content."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;") if "\r" in escaped else escaped


def attribute(value: str) -> str:
    """``value`` inside a double-quoted attribute; whitespace other than spaces kept as such."""
    escaped = text(value).replace('"', "&quot;")
    if "\n" in escaped or "\t" in escaped:
        escaped = escaped.replace("\n", "&#10;").replace("\t", "&#9;")
    return escaped
