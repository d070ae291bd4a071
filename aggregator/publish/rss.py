"""RSS 2.0, built as an lxml tree: the summary in ``description``, the full body in
``content:encoded``, authors in ``dc:creator`` (RSS's own ``author`` wants an e-mail address)."""

from __future__ import annotations

import html

from lxml import etree

from aggregator import __version__
from aggregator.publish.entries import Entry
from aggregator.publish.feed import Feed, rfc822

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
_NAMESPACES = {"atom": ATOM, "content": CONTENT, "dc": DC}


def render_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8, with an XML declaration)."""
    root = etree.Element("rss", {"version": "2.0"}, nsmap=_NAMESPACES)
    channel = _add(root, "channel")
    _add(channel, "title", feed.title)
    _add(channel, "link", feed.home_url)
    _add(channel, "description", feed.description)
    _add(channel, "lastBuildDate", rfc822(feed.updated))
    _add(channel, "generator", f"mutualaid {__version__}")
    if feed.base_url:
        _add(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml",
             href=feed.self_url)  # fmt: skip
    for entry in feed.entries:
        _add_item(channel, entry)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _add_item(channel: etree._Element, entry: Entry) -> None:
    item = _add(channel, "item")
    _add(item, "title", entry.title)
    if entry.url:
        _add(item, "link", entry.url)
    _add(item, "guid", entry.id, isPermaLink="false")
    _add(item, "pubDate", rfc822(entry.published))
    if entry.author:
        _add(item, f"{{{DC}}}creator", entry.author)
    for tag in entry.tags:
        _add(item, "category", tag)
    # description is HTML by custom: the plain summary, escaped so it shows as written.
    _add(item, "description", f"<p>{html.escape(entry.summary)}</p>" if entry.summary else "")
    _add(item, f"{{{CONTENT}}}encoded", entry.content_html)


def _add(
    parent: etree._Element, name: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, name, attributes)
    element.text = text
    return element
