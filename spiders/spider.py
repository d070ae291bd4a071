"""The generic spider: one source's listings, pages and sitemaps, driven by its ``crawl:`` block.

Listing pages are read for article links and next-page links (``listing``), never stored. Article
pages are handed on whole, as ``FetchedItem(origin=CRAWL, html=...)``, to the item pipeline. What
to fetch is decided by ``plan.triage``: nothing already stored (unless refreshing), nothing older
than ``since``, and no further listing pages once one has nothing left to fetch.

``spiders.shared.SharedSourceSpider`` is the same spider for ``mutualaid worker``, fed from Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, ResponseDataLossError
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from aggregator.config import Config
from aggregator.items import FetchedItem, Origin
from spiders.listing import read_listing
from spiders.outbound import RefusedDownload
from spiders.plan import CrawlOptions, CrawlPlan, on_allowed_domain, triage
from spiders.progress import CrawlCounters
from spiders.robots import closed_by_robots
from spiders.sitemaps import read_sitemap

ARTICLE_PRIORITY = 10  # finish the articles of a listing before reading the next listing page
MAX_SITEMAP_DEPTH = 3
REPORT_EVERY = 0.25  # seconds between progress reports
Report = Callable[[str, dict[str, Any]], None]
KnownLoader = Callable[[], frozenset[str]]


class SourceSpider(Spider):
    """Crawls one source; ``name`` is the source's name (it keys the Redis queue too)."""

    name = "mutualaid"

    def __init__(
        self,
        plan: CrawlPlan,
        config: Config,
        load_known: KnownLoader,
        report: Report | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=plan.source, **kwargs)
        self.plan = plan
        self.source = plan.source
        self.config = config
        self.allowed_domains = list(plan.allowed_domains)
        self.counters = CrawlCounters()
        self._load_known = load_known
        self.known = frozenset[str]() if plan.options.refresh else load_known()
        self._report = report
        self._requested = 0
        self._reporter: LoopingCall | None = None  # made once the reactor runs

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider: SourceSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        return spider

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests_for(self.plan.options):
            yield request

    def start_requests_for(self, options: CrawlOptions) -> Iterator[Request]:
        for url in self.plan.start_urls:
            yield from self._follow(url, "listing", options, depth=0)
        for url in self.plan.sitemaps:
            yield from self._follow(url, "sitemap", options, depth=0)

    # -- callbacks ---------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Request]:
        self._count_page("listings")
        options = CrawlOptions.from_meta(response.meta.get("options"))
        if not isinstance(response, TextResponse):
            self.counters.skipped += 1
            return
        listing = read_listing(response.body, response.url, self.plan.links, _now())
        decision = triage(
            listing.entries, known=self.known, since=options.since, refresh=options.refresh
        )
        self.counters.known += decision.known
        self.counters.old += decision.old
        for url in decision.follow:
            yield from self._follow(url, "article", options)
        depth = response.meta.get("listing_depth", 0) + 1
        if not decision.keep_paging:
            self.logger.info("stopped paging at %s: nothing new on it", response.url)
        elif depth <= self.plan.max_depth:
            for url in listing.next_pages:
                yield from self._follow(url, "listing", options, depth=depth)

    def parse_article(self, response: Response) -> Iterator[FetchedItem]:
        self._count_page("articles")
        if not isinstance(response, TextResponse):
            self.counters.skipped += 1
            self.counters.note(response.url, "not an HTML page")
            return
        redirected = response.meta.get("redirect_urls") or []
        yield FetchedItem(
            source=self.source,
            url=response.url,
            origin=Origin.CRAWL,
            fetched_at=_now(),
            html=response.text,
            requested_url=redirected[0] if redirected else None,
        )

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        self._count_page("sitemaps")
        options = CrawlOptions.from_meta(response.meta.get("options"))
        max_size = self.settings.getint("DOWNLOAD_MAXSIZE")
        page = read_sitemap(response.body, response.url, _now(), max_size)
        depth = response.meta.get("listing_depth", 0) + 1
        if page.kind == "index" and depth <= MAX_SITEMAP_DEPTH:
            for entry in page.entries:
                if options.since and entry.published and entry.published < options.since:
                    continue  # nothing in that sitemap changed since
                yield from self._follow(entry.url, "sitemap", options, depth=depth)
        elif page.kind == "urlset":
            articles = [e for e in page.entries if self.plan.links.is_article_url(e.url)]
            decision = triage(
                articles, known=self.known, since=options.since, refresh=options.refresh
            )
            self.counters.known += decision.known
            self.counters.old += decision.old
            for url in decision.follow:
                yield from self._follow(url, "article", options)

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        error = failure.value
        if isinstance(error, HttpError):  # a subclass of IgnoreRequest: test it first
            self.counters.error(url, f"HTTP {error.response.status}")
        elif isinstance(error, RefusedDownload):  # so is this: the network gate or a limit
            self.counters.error(url, error.reason)
        elif isinstance(error, ResponseDataLossError):  # nothing of the body is used
            self.counters.error(url, "truncated body: the connection closed before its end")
        elif isinstance(error, IgnoreRequest):
            self.counters.blocked += 1
            self.counters.note(url, self._why_blocked(url, str(error) or "not allowed"))
        else:
            self.counters.error(url, str(error) or type(error).__name__)

    # -- helpers -----------------------------------------------------------------------------

    def _why_blocked(self, url: str, reason: str) -> str:
        """Scrapy's reason; or, when an unusable robots.txt closed the site, what happened to it
        (nothing forbade anything when robots.txt could not even be fetched)."""
        stats = self.crawler.stats if self.crawler is not None else None
        closed = stats.get_value(closed_by_robots(url)) if stats is not None else None
        return str(closed) if closed else reason

    def _follow(
        self, url: str, kind: str, options: CrawlOptions, depth: int = 0
    ) -> Iterator[Request]:
        if not on_allowed_domain(url, self.plan.allowed_domains):
            return
        limit = options.max_pages
        if limit is not None and self._requested >= limit:
            self.counters.limited = True
            return
        self._requested += 1
        callbacks = {
            "listing": self.parse_listing,
            "article": self.parse_article,
            "sitemap": self.parse_sitemap,
        }
        yield Request(
            url,
            callback=callbacks[kind],
            errback=self.on_error,
            priority=ARTICLE_PRIORITY if kind == "article" else 0,
            meta={"kind": kind, "options": options.as_meta(), "listing_depth": depth},
        )

    def _count_page(self, kind: str) -> None:
        self.counters.pages += 1
        setattr(self.counters, kind, getattr(self.counters, kind) + 1)

    def _opened(self, spider: Spider) -> None:
        if self._report is not None and self._reporter is None:
            self._reporter = LoopingCall(self.send_progress)
            self._reporter.start(REPORT_EVERY, now=False)

    def send_progress(self) -> None:
        if self._report is not None:
            self._report(self.source, self.counters.snapshot())

    def closed(self, reason: str) -> None:
        self.counters.finish_reason = reason
        if self._reporter is not None and self._reporter.running:
            self._reporter.stop()
        self.send_progress()


def _now() -> datetime:
    return datetime.now(UTC)
