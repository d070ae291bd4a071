"""Atom 1.0 (RFC 4287), built as an lxml tree; lxml escapes every text and attribute.

Attributes whose value is the default are left out (a title or summary is text, a link is
``alternate``... except that ``rel`` is spelled out for readers that look for it).
"""

from __future__ import annotations

from lxml import etree

from aggregator import __version__
from aggregator.publish.entries import Entry
from aggregator.publish.feed import Feed, rfc3339

ATOM = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom document (UTF-8, with an XML declaration)."""
    root = etree.Element(_atom("feed"), nsmap={None: ATOM})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title, type="text")
    _add(root, "subtitle", feed.description, type="text")
    _add(root, "updated", rfc3339(feed.updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    _add(root, "link", rel="alternate", type="text/html", href=feed.home_url)
    author = _add(root, "author")
    _add(author, "name", feed.title)
    _add(root, "generator", "mutualaid", version=__version__)
    for entry in feed.entries:
        _add_entry(root, entry)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _add_entry(root: etree._Element, entry: Entry) -> None:
    element = _add(root, "entry")
    if entry.language:
        element.set(_XML_LANG, entry.language)
    _add(element, "id", entry.id)
    _add(element, "title", entry.title)
    _add(element, "published", rfc3339(entry.published))
    _add(element, "updated", rfc3339(entry.updated))
    if entry.author:
        _add(_add(element, "author"), "name", entry.author)
    if entry.url:
        _add(element, "link", rel="alternate", href=entry.url)
    for sighted in (sighted for sighted in entry.also_seen if sighted.url):
        _add(element, "link", rel="related", href=sighted.url, title=sighted.source.title)
    for tag in entry.tags:
        _add(element, "category", term=tag)
    if entry.summary:
        _add(element, "summary", entry.summary)
    _add(element, "content", entry.content_html, type="html")


def _add(
    parent: etree._Element, name: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, _atom(name), attributes)
    element.text = text
    return element


def _atom(name: str) -> str:
    return f"{{{ATOM}}}{name}"
