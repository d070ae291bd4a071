"""The generic spider: one source's listings, pages and sitemaps, driven by its ``crawl:`` block.

Listing pages are read for article links and next-page links (``listing``), never stored. Article
pages are handed on whole, as ``FetchedItem(origin=CRAWL, html=...)``, to the item pipeline. What
to fetch is decided by ``plan.triage``: nothing already stored (unless refreshing), nothing older
than ``since``, and no further listing pages once one has nothing left to fetch. A ``crawl: {}``
block finds its articles itself (``discovery``): the REST API's pages of posts, read as listings,
else the site's sitemaps of posts. ``counters.backlog_cut`` says why a crawl did not go through
the whole backlog ("" when it did): the ``runs`` row records that as ``complete``.

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
from aggregator.sitemaps import post_sitemaps
from spiders.discovery import END_OF_PAGES, read_posts_page
from spiders.listing import Entry, read_listing
from spiders.outbound import RefusedDownload
from spiders.plan import CrawlOptions, CrawlPlan, Triage, on_allowed_domain, triage
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
        if options.since is not None:
            self._cut("since: only what is newer was looked for")
        for url in self.plan.start_urls:
            yield from self._follow(url, "listing", options, depth=0)
        for url in self.plan.sitemaps:
            yield from self._follow(url, "sitemap", options, depth=0)
        yield from self._discover(0, options)

    # -- callbacks ---------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Request]:
        self._count_page("listings")
        options = CrawlOptions.from_meta(response.meta.get("options"))
        if not isinstance(response, TextResponse):
            self.counters.skipped += 1
            self._cut(f"{response.url} is no HTML listing")
            return
        listing = read_listing(response.body, response.url, self.plan.links, _now())
        yield from self._page_through(response, listing.entries, listing.next_pages, options)

    def parse_posts(self, response: Response) -> Iterator[Request]:
        """A page of the WordPress REST API's posts: a listing with dates, newest first."""
        options = CrawlOptions.from_meta(response.meta.get("options"))
        if response.status == END_OF_PAGES:
            return  # a page past the last, asked for when the site gave no page count
        self._count_page("listings")
        total = response.headers.get("X-WP-TotalPages")
        page = read_posts_page(response.body, response.url, total.decode() if total else None)
        if page is None:
            reason = "not a list of posts"
            yield from self._fall_through(response.url, response.meta, reason, options)
            return
        yield from self._page_through(response, page.entries, page.next_page, options, "posts")

    def _page_through(
        self,
        response: Response,
        entries: tuple[Entry, ...],
        next_pages: tuple[str, ...] | str | None,
        options: CrawlOptions,
        kind: str = "listing",
    ) -> Iterator[Request]:
        """Follow a listing's new articles, then its next pages while there is reason to."""
        decision = self._triage(entries, options)
        for url in decision.follow:
            yield from self._follow(url, "article", options)
        pages = (next_pages,) if isinstance(next_pages, str) else next_pages or ()
        depth = response.meta.get("listing_depth", 0) + 1
        if not pages:
            return
        if not decision.keep_paging:
            self.logger.info("stopped paging at %s: nothing new on it", response.url)
            self._cut(f"stopped paging at {response.url}: nothing new on it")
        elif depth > self.plan.max_depth:
            self._cut(f"max_depth: {response.url} is {depth - 1} pages from its start")
        else:
            for url in pages:
                yield from self._follow(url, kind, options, depth=depth)

    def _triage(self, entries: tuple[Entry, ...] | list[Entry], options: CrawlOptions) -> Triage:
        decision = triage(
            entries,
            known=self.known,
            since=options.since,
            refresh=options.refresh,
            stop_at_known=self.plan.stop_at_known,
        )
        self.counters.known += decision.known
        self.counters.old += decision.old
        return decision

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
        discovered = "discovery" in response.meta
        if discovered and not page.entries:
            yield from self._fall_through(response.url, response.meta, "no sitemap here", options)
            return
        if page.kind == "index" and depth <= MAX_SITEMAP_DEPTH:
            entries = tuple(post_sitemaps(page.entries)) if self.plan.discovery else page.entries
            for entry in entries:
                if options.since and entry.published and entry.published < options.since:
                    continue  # nothing in that sitemap changed since
                yield from self._follow(entry.url, "sitemap", options, depth=depth)
        elif page.kind == "urlset":
            articles = [e for e in page.entries if self.plan.links.is_article_url(e.url)]
            for url in self._triage(articles, options).follow:
                yield from self._follow(url, "article", options)
        elif page.kind == "index":
            self._cut(f"{response.url} is more than {MAX_SITEMAP_DEPTH} sitemap indexes deep")

    def on_error(self, failure: Failure) -> Iterator[Request]:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        error = failure.value
        reason = self._reason(url, error)
        blocked = isinstance(error, IgnoreRequest) and not isinstance(
            error,
            HttpError | RefusedDownload,  # subclasses: the server's or our limits' doing
        )
        self.counters.blocked += blocked
        if request is not None and "discovery" in request.meta:
            options = CrawlOptions.from_meta(request.meta.get("options"))
            yield from self._fall_through(url, request.meta, reason, options)
            return
        if request is not None and request.meta.get("kind") != "article":
            self._cut(f"{url} could not be read: {reason}")
        if blocked:
            self.counters.note(url, reason)
        else:
            self.counters.error(url, reason)

    def _reason(self, url: str, error: object) -> str:
        """What went wrong with the request for ``url``, in a few words."""
        if isinstance(error, HttpError):  # a subclass of IgnoreRequest: test it first
            return f"HTTP {error.response.status}"
        if isinstance(error, RefusedDownload):  # so is this: the network gate or a limit
            return error.reason
        if isinstance(error, ResponseDataLossError):  # nothing of the body is used
            return "truncated body: the connection closed before its end"
        if isinstance(error, IgnoreRequest):
            return self._why_blocked(url, str(error) or "not allowed")
        return str(error) or type(error).__name__

    # -- finding the articles of a crawl: {} block ------------------------------------------

    def _discover(self, step: int, options: CrawlOptions) -> Iterator[Request]:
        """Try the plan's ``step``-th place to find the articles (``spiders.discovery``)."""
        if step >= len(self.plan.discovery):
            return
        url = self.plan.discovery[step]
        kind = "sitemap" if step else "posts"
        for request in self._follow(url, kind, options):
            request.meta["discovery"] = step
            yield request

    def _fall_through(
        self, url: str, meta: dict[str, Any], reason: str, options: CrawlOptions
    ) -> Iterator[Request]:
        """The place ``url`` (a discovery step) held no articles: say why, try the next one."""
        step = int(meta.get("discovery", len(self.plan.discovery)))
        self.counters.note(url, reason)
        if step + 1 >= len(self.plan.discovery):
            self.counters.error(self.plan.discovery[0], "found no REST API and no sitemap")
            self._cut("found no REST API and no sitemap")
        yield from self._discover(step + 1, options)

    def _cut(self, reason: str) -> None:
        """Remember the first reason this crawl did not go through the whole backlog."""
        if not self.counters.backlog_cut:
            self.counters.backlog_cut = reason

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
            self._cut(f"max_pages: {limit} pages fetched")
            return
        self._requested += 1
        callbacks = {
            "listing": self.parse_listing,
            "posts": self.parse_posts,
            "article": self.parse_article,
            "sitemap": self.parse_sitemap,
        }
        meta: dict[str, Any] = {"kind": kind, "options": options.as_meta(), "listing_depth": depth}
        if kind == "posts" and depth:  # past the last page is WordPress's 400: the end
            meta["handle_httpstatus_list"] = [END_OF_PAGES]
        yield Request(
            url,
            callback=callbacks[kind],
            errback=self.on_error,
            priority=ARTICLE_PRIORITY if kind == "article" else 0,
            meta=meta,
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
