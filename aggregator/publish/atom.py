"""Atom 1.0 (RFC 4287), written as text; every value goes through ``xmltext`` escaping.

Attributes whose value is the default are left out (a title or summary is text, a link is
``alternate``... except that ``rel`` is spelled out for readers that look for it).
"""

from __future__ import annotations

from aggregator import __version__
from aggregator.publish.entries import Entry, clean_xml_chars
from aggregator.publish.feed import Feed, rfc3339
from aggregator.publish.xmltext import XML_DECLARATION, attribute, text

ATOM = "http://www.w3.org/2005/Atom"


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom document (UTF-8, with an XML declaration)."""
    title = text(clean_xml_chars(feed.title))
    home = attribute(clean_xml_chars(feed.home_url))
    parts = [
        XML_DECLARATION,
        f'<feed xmlns="{ATOM}">',
        f"<id>{text(clean_xml_chars(feed.id))}</id>",
        f'<title type="text">{title}</title>',
        f'<subtitle type="text">{text(clean_xml_chars(feed.description))}</subtitle>',
        f"<updated>{rfc3339(feed.updated)}</updated>",
        '<link rel="self" type="application/atom+xml" '
        f'href="{attribute(clean_xml_chars(feed.self_url))}"/>',
        f'<link rel="alternate" type="text/html" href="{home}"/>',
        f"<author><name>{title}</name></author>",
        f'<generator version="{attribute(__version__)}">mutualaid</generator>',
    ]
    parts += [_entry(entry) for entry in feed.entries]
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


def _entry(entry: Entry) -> str:
    """One ``<entry>``: its strings are XML-clean by construction (see ``entries``)."""
    language = f' xml:lang="{attribute(entry.language)}"' if entry.language else ""
    parts = [
        f"<entry{language}><id>{text(entry.id)}</id><title>{text(entry.title)}</title>"
        f"<published>{rfc3339(entry.published)}</published>"
        f"<updated>{rfc3339(entry.updated)}</updated>"
    ]
    if entry.author:
        parts.append(f"<author><name>{text(entry.author)}</name></author>")
    if entry.url:
        parts.append(f'<link rel="alternate" href="{attribute(entry.url)}"/>')
    parts += [
        f'<link rel="related" href="{attribute(sighted.url)}" '
        f'title="{attribute(sighted.source.title)}"/>'
        for sighted in entry.also_seen
        if sighted.url
    ]
    parts += [f'<category term="{attribute(tag)}"/>' for tag in entry.tags]
    if entry.summary:
        parts.append(f"<summary>{text(entry.summary)}</summary>")
    # An entry published as a link only has no content: its alternate link stands for it.
    if entry.content_html or not entry.url:
        parts.append(f'<content type="html">{text(entry.content_html)}</content>')
    parts.append("</entry>")
    return "".join(parts)
