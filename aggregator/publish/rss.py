"""RSS 2.0, written as text: the summary in ``description``, the full body in
``content:encoded``, authors in ``dc:creator`` (RSS's own ``author`` wants an e-mail address).
Every value goes through ``xmltext`` escaping."""

from __future__ import annotations

import html

from aggregator import __version__
from aggregator.publish.entries import Entry, clean_xml_chars
from aggregator.publish.feed import Feed, rfc822
from aggregator.publish.xmltext import XML_DECLARATION, attribute, text

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
_NAMESPACES = {"atom": ATOM, "content": CONTENT, "dc": DC}
_ROOT = '<rss {} version="2.0">'.format(
    " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NAMESPACES.items())
)


def render_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8, with an XML declaration)."""
    parts = [
        XML_DECLARATION,
        _ROOT,
        f"<channel><title>{text(clean_xml_chars(feed.title))}</title>",
        f"<link>{text(clean_xml_chars(feed.home_url))}</link>",
        f"<description>{text(clean_xml_chars(feed.description))}</description>",
        f"<lastBuildDate>{rfc822(feed.updated)}</lastBuildDate>",
        f"<generator>mutualaid {text(__version__)}</generator>",
    ]
    if feed.base_url:
        parts.append(
            '<atom:link rel="self" type="application/rss+xml" '
            f'href="{attribute(clean_xml_chars(feed.self_url))}"/>'
        )
    parts += [_item(entry) for entry in feed.entries]
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def _item(entry: Entry) -> str:
    """One ``<item>``: its strings are XML-clean by construction (see ``entries``)."""
    parts = [f"<item><title>{text(entry.title)}</title>"]
    if entry.url:
        parts.append(f"<link>{text(entry.url)}</link>")
    parts.append(
        f'<guid isPermaLink="false">{text(entry.id)}</guid>'
        f"<pubDate>{rfc822(entry.published)}</pubDate>"
    )
    if entry.author:
        parts.append(f"<dc:creator>{text(entry.author)}</dc:creator>")
    parts += [f"<category>{text(tag)}</category>" for tag in entry.tags]
    # description is HTML by custom: the plain summary, escaped so it shows as written.
    summary = f"<p>{html.escape(entry.summary)}</p>" if entry.summary else ""
    parts.append(f"<description>{text(summary)}</description>")
    if entry.content_html:  # none for an entry published as a link only
        parts.append(f"<content:encoded>{text(entry.content_html)}</content:encoded>")
    parts.append("</item>")
    return "".join(parts)
