"""What one crawl of one source does, and the decisions it takes on each listing page.

``make_plan`` lays the command line's options over the source's ``crawl:`` block; ``triage`` says
which article links of a listing to fetch and whether to read the next listing page. Both are
pure: the spider brings the page and the set of URLs already stored.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from aggregator.config import SourceConfig
from aggregator.errors import ConfigError
from aggregator.normalize import canonical_url
from spiders.listing import Entry, LinkRules


@dataclass(frozen=True)
class CrawlOptions:
    """What a single run adds to the configuration: ``mutualaid crawl --since/--max-pages/...``."""

    since: datetime | None = None
    max_pages: int | None = None
    refresh: bool = False

    def as_meta(self) -> dict[str, Any]:
        """A plain form that travels in request meta (and through Redis)."""
        since = self.since.isoformat() if self.since else None
        return {"since": since, "max_pages": self.max_pages, "refresh": self.refresh}

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> CrawlOptions:
        meta = meta or {}
        since = datetime.fromisoformat(meta["since"]) if meta.get("since") else None
        return cls(since, meta.get("max_pages"), bool(meta.get("refresh")))


@dataclass(frozen=True)
class CrawlPlan:
    source: str
    start_urls: tuple[str, ...]
    sitemaps: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    links: LinkRules
    max_depth: int
    options: CrawlOptions = field(default_factory=CrawlOptions)


def make_plan(
    name: str, source: SourceConfig, options: CrawlOptions | None = None, origin: str = "config"
) -> CrawlPlan:
    """The plan for crawling source ``name``; a source without a ``crawl:`` block cannot crawl.

    ``origin`` names the config file in the error.
    """
    crawl = source.crawl
    if crawl is None:
        raise ConfigError(origin, "this source has no crawl: block", key=f"sources.{name}.crawl")
    options = options or CrawlOptions()
    start = crawl.start_urls or source.listings
    if not start and not crawl.sitemaps:
        start = (source.homepage,)
    return CrawlPlan(
        source=name,
        start_urls=tuple(start),
        sitemaps=crawl.sitemaps,
        allowed_domains=crawl.allowed_domains or _hosts([*start, *crawl.sitemaps, source.homepage]),
        links=LinkRules.compile(crawl),
        max_depth=crawl.max_depth,
        options=CrawlOptions(
            since=options.since or _start_of(crawl.since),
            max_pages=options.max_pages or crawl.max_pages,
            refresh=options.refresh,
        ),
    )


def _hosts(urls: Iterable[str]) -> tuple[str, ...]:
    hosts = (urlsplit(url).hostname for url in urls)
    return tuple(dict.fromkeys(host.removeprefix("www.") for host in hosts if host))


def on_allowed_domain(url: str, domains: Iterable[str]) -> bool:
    """True when ``url``'s host is one of ``domains`` or under one (any port, as Scrapy does)."""
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and any(host == d or host.endswith(f".{d}") for d in domains)


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


@dataclass(frozen=True)
class Triage:
    """What to do with the article links of one listing page."""

    follow: tuple[str, ...]
    known: int  # already stored: not fetched again
    old: int  # older than ``since``
    keep_paging: bool


def triage(
    entries: Iterable[Entry],
    *,
    known: Container[str],
    since: datetime | None,
    refresh: bool,
) -> Triage:
    """Fetch links that are neither stored (unless ``refresh``) nor older than ``since``.

    Paging goes on only while a page still has something to fetch: once every article on a
    listing is stored or too old, the older pages behind it are too.
    """
    follow: list[str] = []
    known_count = old = 0
    for entry in entries:
        if since is not None and entry.published is not None and entry.published < since:
            old += 1
        elif not refresh and _canonical(entry.url) in known:
            known_count += 1
        else:
            follow.append(entry.url)
    return Triage(tuple(follow), known_count, old, keep_paging=bool(follow))


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:
        return None
