"""What one crawl of one source does, and the decisions it takes on each listing page.

``make_plan`` lays the command line's options over the source's ``crawl:`` block; ``triage`` says
which article links of a listing to fetch and whether to read the next listing page. Both are
pure: the spider brings the page and the set of URLs already stored, the caller whether a crawl
of the source ever went through its whole backlog (until one did, no page of stored links stops
the paging: a poll may have stored the newest articles, never the older ones behind them).
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
from spiders.discovery import entry_points
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
    # crawl: {}: where to look for the articles, tried in turn until one answers (discovery).
    discovery: tuple[str, ...] = ()
    # A listing page whose links are all stored ends the paging: only once a crawl of the
    # source has gone through its whole backlog.
    stop_at_known: bool = True


def make_plan(
    name: str,
    source: SourceConfig,
    options: CrawlOptions | None = None,
    origin: str = "config",
    *,
    backlog_done: bool = True,
) -> CrawlPlan:
    """The plan for crawling source ``name``; a source without a ``crawl:`` block cannot crawl.

    ``origin`` names the config file in the error. ``backlog_done``: a crawl of the source went
    through its whole backlog before, so a page of stored links may end the paging.
    """
    crawl = source.crawl
    if crawl is None:
        raise ConfigError(origin, "this source has no crawl: block", key=f"sources.{name}.crawl")
    options = options or CrawlOptions()
    discovery = entry_points(source.homepage) if crawl.finds_articles_itself else ()
    start = crawl.start_urls or (() if discovery else source.listings)
    if not start and not crawl.sitemaps and not discovery:
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
        discovery=discovery,
        stop_at_known=backlog_done,
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
    stop_at_known: bool = True,
) -> Triage:
    """Fetch links that are neither stored (unless ``refresh``) nor older than ``since``.

    Paging goes on only while a page still has something to fetch: once every article on a
    listing is too old, the older pages behind it are too; so they are once every one is stored,
    when ``stop_at_known`` (a crawl went through the whole backlog before: whatever is older
    than a stored page was stored then).
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
    past_stored = not stop_at_known and known_count > 0 and old == 0
    return Triage(tuple(follow), known_count, old, keep_paging=bool(follow) or past_stored)


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:
        return None
