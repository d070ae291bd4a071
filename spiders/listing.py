"""Reading a listing page: which links are articles (with their dates), which lead to more pages.

Pure functions of the page and the source's link rules; the spider does the fetching. Article
links come from the configured selectors (CSS or XPath), URL patterns, or both; next-page links
likewise, with WordPress' usual markup as the default. An entry's date is the first ``<time>`` (or
``datetime`` attribute) in the smallest block around its link that holds no other article, which
is how themes lay out a teaser: thumbnail, title, byline with date, excerpt, "read more".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from aggregator.config import CrawlConfig
from aggregator.dates import normalize_date
from aggregator.extract.rules import to_xpath

# rel=next in <head> or on a link, then the "next" and "older posts" links of common themes.
DEFAULT_NEXT_PAGE = (
    "link[rel~='next']",
    "a[rel~='next']",
    "a.next",
    ".nav-previous a",
    ".pagination-next a",
)
# How far up from an article link to look for the block that holds its date.
MAX_ENTRY_LEVELS = 8
_DATED = ".//time | .//*[@datetime]"


@dataclass(frozen=True)
class LinkRules:
    """A source's link rules, compiled once: XPath expressions and regular expressions."""

    article_xpaths: tuple[str, ...] = ()
    article_patterns: tuple[re.Pattern[str], ...] = ()
    next_xpaths: tuple[str, ...] = ()
    next_patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def compile(cls, crawl: CrawlConfig) -> LinkRules:
        return cls(
            article_xpaths=tuple(to_xpath(selector) for selector in crawl.article_links),
            article_patterns=tuple(re.compile(pattern) for pattern in crawl.article_urls),
            next_xpaths=tuple(to_xpath(s) for s in crawl.next_page or DEFAULT_NEXT_PAGE),
            next_patterns=tuple(re.compile(pattern) for pattern in crawl.next_page_urls),
        )

    def is_article_url(self, url: str) -> bool:
        """True when no pattern is configured or one matches: the filter for sitemap entries."""
        return not self.article_patterns or any(p.search(url) for p in self.article_patterns)


@dataclass(frozen=True)
class Entry:
    """An article link on a listing page, with the date shown beside it when there is one."""

    url: str
    published: datetime | None = None


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    next_pages: tuple[str, ...]


def read_listing(html: str | bytes, url: str, rules: LinkRules, now: datetime) -> Listing:
    """The article entries and next-page links of the listing page ``html`` found at ``url``."""
    tree = _parse(html)
    if tree is None:
        return Listing((), ())
    base = _base_url(tree, url)
    anchors = list(_article_anchors(tree, base, rules))
    by_element = {id(element): link for element, link in anchors if element is not None}
    entries: dict[str, Entry] = {}
    for element, link in anchors:
        if link in entries and entries[link].published is not None:
            continue
        published = _entry_date(element, link, by_element, now) if element is not None else None
        entries[link] = Entry(link, published)
    here = _without_fragment(url)
    pages = [p for p in _next_links(tree, base, rules) if p != here and p not in entries]
    return Listing(tuple(entries.values()), tuple(dict.fromkeys(pages)))


def _parse(html: str | bytes) -> HtmlElement | None:
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _base_url(tree: HtmlElement, url: str) -> str:
    for base in tree.iterfind(".//head/base[@href]"):
        return urljoin(url, str(base.get("href", "")))
    return url


def _article_anchors(
    tree: HtmlElement, base: str, rules: LinkRules
) -> Iterator[tuple[HtmlElement | None, str]]:
    found = _select(tree, rules.article_xpaths) if rules.article_xpaths else tree.iter("a")
    for element, href in _hrefs(found):
        link = absolute_link(href, base)
        if link and (not rules.article_patterns or rules.is_article_url(link)):
            yield element, link


def _next_links(tree: HtmlElement, base: str, rules: LinkRules) -> Iterator[str]:
    found: list[object] = list(_select(tree, rules.next_xpaths))
    if rules.next_patterns:
        found += [a for a in tree.iter("a") if _matches(a.get("href"), base, rules.next_patterns)]
    for _element, href in _hrefs(found):
        link = absolute_link(href, base)
        if link:
            yield link


def _matches(href: str | None, base: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    link = absolute_link(href, base) if href else None
    return bool(link) and any(pattern.search(link or "") for pattern in patterns)


def _select(tree: HtmlElement, xpaths: Iterable[str]) -> Iterator[object]:
    for xpath in xpaths:
        result = tree.xpath(xpath)
        if isinstance(result, list):
            yield from result


def _hrefs(found: Iterable[object]) -> Iterator[tuple[HtmlElement | None, str]]:
    """``href`` of selected elements (or of their first link), or selected attribute values."""
    for item in found:
        if isinstance(item, str):  # an XPath that selects @href itself
            yield None, str(item)
        elif isinstance(item, HtmlElement):
            element = item if item.get("href") is not None else item.find(".//a[@href]")
            if element is not None:
                yield element, element.get("href", "")


def absolute_link(href: str | None, base: str) -> str | None:
    """``href`` resolved against ``base``, without its fragment; ``None`` unless http(s)."""
    href = (href or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    try:
        link = _without_fragment(urljoin(base, href))
    except ValueError:
        return None
    return link if urlsplit(link).scheme in ("http", "https") else None


def _without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(fragment=""))


def _entry_date(
    anchor: HtmlElement, link: str, by_element: dict[int, str], now: datetime
) -> datetime | None:
    """The date in the smallest block around ``anchor`` that links to no other article."""
    block: HtmlElement | None = anchor
    for _ in range(MAX_ENTRY_LEVELS):
        block = block.getparent() if block is not None else None
        if block is None or block.tag in ("body", "html"):
            return None
        others = {by_element.get(id(a)) for a in block.iter("a")} - {None, link}
        if others:
            return None
        dated = block.xpath(_DATED)
        if dated:
            return _read_date(dated[0], now)
    return None


def _read_date(element: HtmlElement, now: datetime) -> datetime | None:
    value = element.get("datetime") or element.text_content()
    moment, estimated = normalize_date(value.strip(), now=now, first_seen=now)
    return None if estimated else moment
