"""Reading sitemaps: an index of further sitemaps, a set of page URLs, or a robots.txt naming them.

Pure functions of a fetched body. Scrapy's ``Sitemap`` does the XML (it resolves no entities and
recovers from sloppy markup); gzipped sitemaps are unpacked up to the size limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from lxml import etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from aggregator.dates import normalize_date
from spiders.listing import Entry, absolute_link

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class SitemapPage:
    """``index`` entries are further sitemaps; ``urlset`` entries are pages, with lastmod."""

    kind: Literal["index", "urlset", "unknown"]
    entries: tuple[Entry, ...]


def read_sitemap(body: bytes, url: str, now: datetime, max_size: int = 0) -> SitemapPage:
    """Read the sitemap, sitemap index or robots.txt ``body`` fetched from ``url``."""
    if urlsplit(url).path.endswith("/robots.txt"):
        found = (absolute_link(link, url) for link in sitemap_urls_from_robots(body, url))
        return SitemapPage("index", tuple(Entry(link) for link in found if link))
    if body.startswith(GZIP_MAGIC):
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, ValueError):
            return SitemapPage("unknown", ())
    try:
        sitemap = Sitemap(body)
        rows = list(sitemap)
    except (etree.XMLSyntaxError, StopIteration, ValueError):
        return SitemapPage("unknown", ())
    kinds: dict[str, Literal["index", "urlset"]] = {"sitemapindex": "index", "urlset": "urlset"}
    kind = kinds.get(sitemap.type)
    if kind is None:
        return SitemapPage("unknown", ())
    return SitemapPage(kind, tuple(_entries(rows, url, now)))


def _entries(rows: list[dict[str, object]], url: str, now: datetime) -> list[Entry]:
    entries = []
    for row in rows:
        link = absolute_link(str(row.get("loc") or ""), url)
        if link is None:
            continue
        lastmod = row.get("lastmod")
        when = None
        if isinstance(lastmod, str) and lastmod:
            moment, estimated = normalize_date(lastmod, now=now, first_seen=now)
            when = None if estimated else moment
        entries.append(Entry(link, when))
    return entries
