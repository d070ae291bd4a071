"""Reading XML sitemaps, for the ``sitemap`` kind of source and for crawls alike.

Pure functions of a fetched body. A body is a ``<sitemapindex>`` (its entries are further
sitemaps) or a ``<urlset>`` (its entries are pages); each entry has a URL, made absolute and
http(s) only, and the ``lastmod`` it claims, when that is a believable date. Parsed with the one
safe XML parser (``xmlsafe``): no entity is expanded, nothing is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree

from aggregator.dates import normalize_date
from aggregator.xmlsafe import parse_xml

# Sitemaps of posts, as WordPress core, Yoast SEO, Rank Math and All in One SEO name them
# (WordPress core's sitemap of pages, ``wp-sitemap-posts-page-1.xml``, is not one).
_POSTS = re.compile(
    r"posts-post|(?:^|[-_/])post[-_]?sitemap|sitemap[-_]posts?(?:[-_]?\d+)?\.xml", re.IGNORECASE
)


class SitemapError(Exception):
    """The body is not a sitemap; ``reason`` says what it is instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Listed:
    url: str
    lastmod: datetime | None = None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool  # entries are further sitemaps; else pages
    entries: tuple[Listed, ...]


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


Linked = TypeVar("Linked", bound=_HasUrl)


def parse_sitemap(body: bytes, now: datetime, base_url: str | None = None) -> Sitemap:
    """A ``<sitemapindex>`` or ``<urlset>`` (relative URLs resolved against ``base_url``);
    ``SitemapError`` saying what else it is."""
    try:
        root = parse_xml(body)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not XML ({exc})") from None
    tag = etree.QName(root).localname
    if tag not in ("sitemapindex", "urlset"):
        raise SitemapError(f"not a sitemap (its root element is <{tag}>)")
    is_index = tag == "sitemapindex"
    row = "sitemap" if is_index else "url"
    entries = (_listed(item, now, base_url) for item in root if _localname(item) == row)
    return Sitemap(is_index, tuple(entry for entry in entries if entry))


def post_sitemaps(children: Iterable[Linked]) -> list[Linked]:
    """The sitemaps of posts in an index, where it names them so; else all of them."""
    every = list(children)
    posts = [child for child in every if _POSTS.search(urlsplit(child.url).path)]
    return posts or every


def newest_first(pages: Iterable[Listed]) -> list[Listed]:
    """Dated pages, newest first, then the undated ones in their order."""
    listed = list(pages)
    dated = sorted((p for p in listed if p.lastmod), key=lambda p: p.lastmod or 0, reverse=True)
    return dated + [p for p in listed if not p.lastmod]


def _listed(item: Any, now: datetime, base_url: str | None) -> Listed | None:
    loc = _child_text(item, "loc")
    url = _absolute(loc, base_url) if loc else None
    if url is None:
        return None
    lastmod = _child_text(item, "lastmod")
    when, estimated = normalize_date(lastmod, now=now, first_seen=now) if lastmod else (None, True)
    return Listed(url, None if estimated else when)


def _absolute(loc: str, base_url: str | None) -> str | None:
    try:
        url = urldefrag(urljoin(base_url, loc) if base_url else loc).url
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _child_text(item: Any, name: str) -> str | None:
    for child in item:
        if _localname(child) == name:
            return str(child.text or "").strip() or None
    return None


def _localname(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""
