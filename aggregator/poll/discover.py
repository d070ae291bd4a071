"""Finding a site's feed: the URL itself, its ``<link rel="alternate">``s, or common paths; and
whether the site is a WordPress whose whole archive a ``crawl: {}`` block can read.

``feed_links``, ``candidate_urls`` and ``api_link`` are pure; ``discover_feed`` and
``detect_wordpress`` fetch (politely, through the same ``Fetcher`` as polling): a feed candidate
counts only when it parses as a feed, a WordPress entry point only when it answers as one (the
REST API with a list of posts, a sitemap with entries).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from aggregator.errors import FetchError
from aggregator.poll.feeds import parse_feed
from aggregator.poll.http import Fetcher, Validators
from aggregator.poll.parsed import FeedParseError, ParsedFeed

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/json",
        "application/xml",
        "text/xml",
    }
)
# Where WordPress and other common engines put their main feed, tried when a page names none.
COMMON_PATHS = ("feed/", "?feed=rss2", "feed.xml", "atom.xml", "rss.xml", "index.xml", "feed.json")
MAX_CANDIDATES = 16
API_REL = "https://api.w.org/"  # the rel WordPress names its REST API with
_LINK_HEADER = re.compile(r"<([^>]*)>\s*;[^,]*?\brel=\"?https://api\.w\.org/\"?", re.IGNORECASE)
POSTS_PATH = "wp/v2/posts"
SITEMAPS = ("wp-sitemap.xml", "sitemap_index.xml")  # WordPress core's, then Yoast's and Rank Math's


@dataclass(frozen=True)
class Discovered:
    feed_url: str
    homepage: str
    title: str | None
    format: str


def feed_links(page: bytes | str, base_url: str) -> list[str]:
    """Feeds a page announces with ``<link rel="alternate" type=...>``, main feeds first.

    Comment feeds (WordPress's "Comments Feed", a post's own comments) come last.
    """
    try:
        tree = lxml.html.fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    base = tree.xpath("string(//base/@href)") or base_url
    found: list[tuple[bool, str]] = []
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = urljoin(urljoin(base_url, base), link.get("href").strip())
        title = (link.get("title") or "").lower()
        found.append(("comment" in title or "/comments/" in url, url))
    ordered = [url for _, url in sorted(found, key=lambda pair: pair[0])]
    return list(dict.fromkeys(ordered))


def candidate_urls(page_url: str, announced: list[str]) -> list[str]:
    """What to try, in order: announced feeds, then common paths under the page and the site."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}/"
    folder = page_url if page_url.endswith("/") else page_url.rsplit("/", 1)[0] + "/"
    bases = dict.fromkeys((folder, root))
    guesses = [urljoin(base, path) for path in COMMON_PATHS for base in bases]
    return list(dict.fromkeys([*announced, *guesses]))[:MAX_CANDIDATES]


def discover_feed(fetcher: Fetcher, url: str) -> Discovered:
    """Find the feed of the site at ``url`` (which may itself be a feed)."""
    fetched = fetcher.get(url)
    if fetched.status != 200:
        raise FetchError(url, f"HTTP {fetched.status}")
    feed = _try_parse(fetched.body, fetched.headers, fetched.url)
    if feed is not None:
        return _found(feed, homepage=feed.link or _root(fetched.url))
    announced = feed_links(fetched.body, fetched.url)
    for candidate in candidate_urls(fetched.url, announced):
        try:
            answer = fetcher.get_feed(candidate, Validators())
        except FetchError:
            continue
        if answer.status != 200:
            continue
        feed = _try_parse(answer.body, answer.headers, answer.url)
        if feed is not None:
            return _found(feed, homepage=fetched.url)
    raise FetchError(url, "no feed found (no <link rel=alternate> feed, no feed at common paths)")


@dataclass(frozen=True)
class WordPressSite:
    """What was found of a WordPress site: its REST API's posts, or a sitemap, that answered."""

    api_url: str | None  # the posts endpoint, when it answered with a list of posts
    sitemap_url: str | None  # else a sitemap that answered

    def describe(self) -> str:
        if self.api_url:
            return f"WordPress REST API at {self.api_url}"
        return f"sitemap at {self.sitemap_url}"


def api_link(headers: Mapping[str, str], page: bytes | str, base_url: str) -> str | None:
    """The REST API root a WordPress page announces: ``Link: <...>; rel="https://api.w.org/"``
    (a response header) or ``<link rel="https://api.w.org/">`` in its head."""
    match = _LINK_HEADER.search(headers.get("link", ""))
    if match:
        return urljoin(base_url, str(match[1]).strip())
    try:
        tree = lxml.html.fromstring(page)
    except (etree.ParserError, ValueError):
        return None
    for link in tree.xpath("//link[@href]"):
        if API_REL in (link.get("rel") or "").lower().split():
            return urljoin(base_url, str(link.get("href")).strip())
    return None


def detect_wordpress(fetcher: Fetcher, homepage: str) -> WordPressSite | None:
    """Whether the site at ``homepage`` shows its posts through the REST API or a sitemap
    (what ``crawl: {}`` reads, in the same order); None when neither answers."""
    root = _root(homepage)
    try:
        page = fetcher.get(homepage)
    except FetchError:
        return None
    announced = api_link(page.headers, page.body, page.url) if page.status == 200 else None
    api_root = announced or urljoin(root, "wp-json/")
    posts = urljoin(api_root if api_root.endswith("/") else api_root + "/", POSTS_PATH)
    if _answers(fetcher, f"{posts}?per_page=1", _is_posts):
        return WordPressSite(posts, None)
    for name in SITEMAPS:
        if _answers(fetcher, urljoin(root, name), _is_sitemap):
            return WordPressSite(None, urljoin(root, name))
    return None


def _answers(fetcher: Fetcher, url: str, check: Callable[[bytes], bool]) -> bool:
    try:
        fetched = fetcher.get(url)
    except FetchError:
        return False
    return fetched.status == 200 and check(fetched.body)


def _is_posts(body: bytes) -> bool:
    try:
        posts = json.loads(body)
    except ValueError:
        return False
    return isinstance(posts, list) and all(isinstance(p, dict) and "link" in p for p in posts)


def _is_sitemap(body: bytes) -> bool:
    head = body[:2048].lstrip()
    return head.startswith(b"<?xml") and (b"<sitemapindex" in body or b"<urlset" in body)


def _try_parse(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed | None:
    try:
        return parse_feed(body, headers, url)
    except FeedParseError:
        return None


def _found(feed: ParsedFeed, homepage: str) -> Discovered:
    return Discovered(feed_url=feed.url, homepage=homepage, title=feed.title, format=feed.format)


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"
