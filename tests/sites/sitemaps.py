"""XML sitemaps: an index pointing at url sets, as Yoast SEO and WordPress core write them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from xml.sax.saxutils import escape

from tests.sites.markup import iso

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_index(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    """``<sitemapindex>`` of (url, lastmod) pairs."""
    rows = "".join(
        f"\t<sitemap>\n\t\t<loc>{escape(url)}</loc>\n{_lastmod(when)}\t</sitemap>\n"
        for url, when in entries
    )
    return _document(f'<sitemapindex xmlns="{NS}">\n{rows}</sitemapindex>\n')


def url_set(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    """``<urlset>`` of (url, lastmod) pairs."""
    rows = "".join(
        f"\t<url>\n\t\t<loc>{escape(url)}</loc>\n{_lastmod(when)}\t</url>\n"
        for url, when in entries
    )
    return _document(f'<urlset xmlns="{NS}">\n{rows}</urlset>\n')


def _lastmod(when: datetime | None) -> str:
    return f"\t\t<lastmod>{iso(when)}</lastmod>\n" if when else ""


def _document(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
