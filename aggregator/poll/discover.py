"""Finding a site's feed: the URL itself, its ``<link rel="alternate">``s, or common paths.

``feed_links`` and ``candidate_urls`` are pure; ``discover_feed`` fetches (politely, through the
same ``Fetcher`` as polling) and accepts only a candidate that parses as a feed.
"""

from __future__ import annotations

from collections.abc import Mapping
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
