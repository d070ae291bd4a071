"""Reading sitemaps in a crawl: an index of further sitemaps, a set of page URLs, or a robots.txt
naming them.

Pure functions of a fetched body. The XML is read by ``aggregator.sitemaps``, as the ``sitemap``
kind of source reads it; gzipped sitemaps are unpacked up to the size limit first, and a
robots.txt's ``Sitemap:`` lines are read by Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from aggregator.sitemaps import SitemapError, parse_sitemap
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
        sitemap = parse_sitemap(body, now, base_url=url)
    except SitemapError:
        return SitemapPage("unknown", ())
    entries = tuple(Entry(listed.url, listed.lastmod) for listed in sitemap.entries)
    return SitemapPage("index" if sitemap.is_index else "urlset", entries)
