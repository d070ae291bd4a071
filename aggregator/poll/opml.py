"""OPML subscription lists: read the feeds out of one, write our sources as one.

Read with the safe parser (``aggregator.xmlsafe``: no entities resolved, nothing fetched), so
a hostile file can neither expand into gigabytes nor reach the network.
Categories (nested outlines) are flattened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from aggregator.config import SourceConfig
from aggregator.errors import MutualAidError
from aggregator.xmlsafe import parse_xml


class OpmlError(MutualAidError):
    """A file that is not a readable OPML subscription list."""


@dataclass(frozen=True)
class OpmlFeed:
    feed_url: str
    title: str | None
    homepage: str | None


def read_opml(data: bytes, label: str = "OPML") -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, in document order, each feed once."""
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"{label}: not well-formed XML: {exc}") from None
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise OpmlError(f"{label}: not an OPML file (the root element is not <opml>)")
    feeds: dict[str, OpmlFeed] = {}
    for outline in root.iter("{*}outline"):
        url = _attribute(outline, "xmlUrl")
        if url and url not in feeds:
            title = _attribute(outline, "title") or _attribute(outline, "text")
            feeds[url] = OpmlFeed(url, title, _attribute(outline, "htmlUrl"))
    return list(feeds.values())


def write_opml(sources: Mapping[str, SourceConfig], title: str, now: datetime) -> bytes:
    """An OPML 2.0 list of the sources that have a feed; one outline per source."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = etree.SubElement(root, "body")
    for name, source in sources.items():
        if not source.feed:
            continue
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=source.title or name,
            title=source.title or name,
            xmlUrl=source.feed,
            htmlUrl=source.homepage,
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _attribute(outline: etree._Element, name: str) -> str | None:
    for key, value in outline.attrib.items():
        if str(key).lower() == name.lower():
            text = str(value).strip()
            return text or None
    return None
