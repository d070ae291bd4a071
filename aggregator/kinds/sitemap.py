"""The ``sitemap`` kind: a site without a feed, read through its XML sitemaps.

A poll reads the sitemap (``sources.NAME.sitemap``, else the one found beside the homepage
among ``CANDIDATES``) with a conditional GET: unchanged, it costs that one request. In a
sitemap index it then reads the sitemaps of posts (``post_sitemaps``) whose ``lastmod`` moved
since they were last read whole, and fetches the pages of the URLs not stored yet or modified
since, newest first, up to ``polling.max_pages``; the rest wait for the next poll. Backfill is
the same walk without the page limit or the memory of what was read.

Kind state: ``sitemap`` (where the sitemap was found) and ``read`` (``{sitemap URL: lastmod}``
of the sitemaps in the index read whole by the last poll that stored everything they listed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from aggregator.config import SourceConfig
from aggregator.errors import FetchError
from aggregator.items import FetchedItem, Origin
from aggregator.kinds import SourceKind, own_state
from aggregator.poll.collect import Collected, Collector, SourceJob, Visit, body_hash
from aggregator.poll.http import RATE_LIMITED, Validators, retry_after
from aggregator.poll.known import KnownEntries
from aggregator.poll.pages import fetch_page
from aggregator.runs import RunKind
from aggregator.sitemaps import (
    Listed,
    Sitemap,
    SitemapError,
    newest_first,
    parse_sitemap,
    post_sitemaps,
)

NAME = "sitemap"
CANDIDATES = ("wp-sitemap.xml", "sitemap_index.xml", "sitemap.xml")
MAX_SITEMAPS = 100  # sitemaps of an index read per poll
LOOKUP_BATCH = 500  # URLs looked up in the database at once


def candidates(homepage: str) -> list[str]:
    """Where a sitemap may be: beside the homepage, then at the site's root."""
    base = homepage if homepage.endswith("/") else homepage + "/"
    found = [urljoin(base, name) for name in CANDIDATES]
    found += [urljoin(base, "/" + name) for name in CANDIDATES]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Memory:
    sitemap: str | None = None
    read: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Memory:
        sitemap, read = stored.get("sitemap"), stored.get("read")
        read = (
            {k: v for k, v in read.items() if isinstance(v, str)} if isinstance(read, dict) else {}
        )
        return cls(sitemap if isinstance(sitemap, str) else None, read)

    def as_json(self) -> dict[str, Any]:
        return {"sitemap": self.sitemap, "read": dict(self.read)}


class SitemapKind:
    name = NAME

    def state_url(self, source: SourceConfig) -> str | None:
        return source.sitemap or source.homepage

    def unpolled_reason(self, source: SourceConfig) -> str:
        return "no homepage configured"  # the config requires one

    def collect(self, collector: Collector, job: SourceJob) -> Collected:
        limit = collector.settings.max_pages
        return collector.run(
            job, RunKind.POLL, lambda http, out: Walk(collector, job, http, out).poll(limit)
        )

    def backfill(self, collector: Collector, job: SourceJob, count: int) -> Collected:
        return collector.run(
            job, RunKind.BACKFILL, lambda http, out: Walk(collector, job, http, out).backfill(count)
        )


@dataclass
class Walk(Visit):
    """One poll's or backfill's walk through a source's sitemaps to its pages."""

    memory: Memory = field(init=False)

    def __post_init__(self) -> None:
        self.memory = Memory.of(own_state(self.job, NAME))

    def poll(self, limit: int) -> None:
        found = self.find(conditional=True)
        if found is None:
            return
        url, sitemap = found
        read: dict[str, str] = {}
        pages = self.pages(sitemap, read, remembered=self.memory.read)
        self.fetch_new(pages, limit)
        kept = {**self.memory.read, **read} if self.out.complete else self.memory.read
        self.out.kind_state = Memory(url, kept).as_json()

    def backfill(self, count: int) -> None:
        found = self.find(conditional=False)
        if found is not None:
            self.fetch_new(self.pages(found[1], {}, remembered={}), count)

    # -- the sitemap itself --------------------------------------------------------------------

    def find(self, conditional: bool) -> tuple[str, Sitemap] | None:
        """The source's sitemap; None when there is nothing to do (unchanged, or failed)."""
        source = self.job.source
        if source.sitemap:
            places = [self.job.state.fetch_url]
        else:
            places = list(
                dict.fromkeys(filter(None, [self.memory.sitemap, *candidates(source.homepage)]))
            )
        reasons = []
        for url in places:
            try:
                found = self.read_top(url, conditional and url == places[0])
            except SitemapError as exc:
                reasons.append(f"{url}: {exc.reason}")
                continue
            if found is None or self.out.status == "failed":
                return None
            return url, found
        self.out.fail("no sitemap: " + "; ".join(reasons))
        return None

    def read_top(self, url: str, conditional: bool) -> Sitemap | None:
        validators = self.job.state.validators if conditional else Validators()
        try:
            fetched = self.http.get_feed(url, validators)
        except FetchError as exc:
            raise SitemapError(exc.reason) from None
        out = self.out
        if fetched.status == 304:
            out.response, out.status = fetched, "not_modified"
            return None
        if fetched.status in RATE_LIMITED:
            wait = retry_after(fetched.headers.get("retry-after"), out.started_at)
            out.fail(f"{url}: HTTP {fetched.status} (rate limited)", wait)
            return None
        if fetched.status != 200:
            raise SitemapError(f"HTTP {fetched.status}")
        sitemap = parse_sitemap(fetched.body, out.started_at)
        out.response, out.body_hash = fetched, body_hash(fetched.body)
        out.follows_moves = url == self.job.state.fetch_url
        if conditional and out.body_hash == self.job.state.body_hash:
            out.status = "not_modified"  # the same bytes as last time
            return None
        return sitemap

    # -- the sitemaps of an index --------------------------------------------------------------

    def pages(
        self, top: Sitemap, read: dict[str, str], remembered: Mapping[str, str]
    ) -> list[Listed]:
        """The pages ``top`` lists, through its post sitemaps if it is an index; ``read`` gets
        the lastmod of each sitemap read whole."""
        if not top.is_index:
            return list(top.entries)
        pages: list[Listed] = []
        for child in post_sitemaps(top.entries)[:MAX_SITEMAPS]:
            stamp = child.lastmod.isoformat() if child.lastmod else None
            if stamp and remembered.get(child.url) == stamp:
                continue  # not modified since it was read whole
            listed = self.read_child(child.url)
            if listed is not None:
                pages += listed
                if stamp:
                    read[child.url] = stamp
        return pages

    def read_child(self, url: str) -> list[Listed] | None:
        try:
            fetched = self.http.get(url, {"Accept": "application/xml, text/xml;q=0.9, */*;q=0.5"})
            if fetched.status != 200:
                raise SitemapError(f"HTTP {fetched.status}")
            sitemap = parse_sitemap(fetched.body, self.out.started_at)
            if sitemap.is_index:
                raise SitemapError("an index within an index (not followed)")
        except (FetchError, SitemapError) as exc:
            self.out.failed.append((url, exc.reason))
            self.out.complete = False
            return None
        return list(sitemap.entries)

    # -- the pages -----------------------------------------------------------------------------

    def fetch_new(self, pages: list[Listed], limit: int) -> None:
        """Fetch the pages not stored yet or modified since, newest first, up to ``limit``."""
        home = _same_site(self.job.source.homepage)
        listed = [page for page in pages if _same_site(page.url) == home]
        known = self.known([page.url for page in listed])
        fetched = 0
        for page in newest_first(list({p.url: p for p in listed}.values())):
            stored = known.find(None, page.url)
            if stored and not stored.outdated_by(page.lastmod):
                self.out.unchanged += 1
            elif page.url.rstrip("/") == self.job.source.homepage.rstrip("/"):
                continue  # the home page lists articles; it is not one
            elif fetched >= limit:
                self.out.skipped.append((page.url, "left for the next poll (page limit)"))
                self.out.complete = False
            else:
                fetched += 1
                self.fetch_one(page)

    def fetch_one(self, page: Listed) -> None:
        try:
            final_url, html = fetch_page(self.http, page.url)
        except FetchError as exc:
            self.out.failed.append((page.url, exc.reason))
            self.out.complete = False
            return
        self.out.items.append(
            FetchedItem(
                source=self.job.name,
                url=final_url,
                origin=Origin.CRAWL,  # a page found by address, not announced by a feed
                fetched_at=self.out.started_at,
                html=html,
                requested_url=page.url if final_url != page.url else None,
                feed_updated=page.lastmod,
            )
        )

    def known(self, urls: list[str]) -> KnownEntries:
        by_url: dict[str, Any] = {}
        for start in range(0, len(urls), LOOKUP_BATCH):
            found = self.collector.lookup(self.job, [], urls[start : start + LOOKUP_BATCH])
            by_url.update(found.by_url)
        return KnownEntries({}, by_url)


def _same_site(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


KIND: SourceKind = SitemapKind()
