"""One crawl shared by many ``mutualaid worker`` processes through Redis.

``mutualaid crawl SOURCE --backend redis`` only seeds: it forgets which pages the last shared
crawl of the source saw (the dupefilter) and pushes the start URLs, each with the run's options,
onto ``PREFIX:SOURCE:start``. Workers pop them, and from then on scrapy-redis keeps the request
queue (``PREFIX:SOURCE:requests``) and the dupefilter (``PREFIX:SOURCE:dupefilter``), so each
page is fetched by one worker only, on whichever machine it runs. Busy workers refresh
``PREFIX:SOURCE:active`` (a few seconds' expiry) so that idle ones know the crawl goes on.
Requests are stored pickled, as scrapy-redis does: the Redis must be one you trust.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider

from aggregator.config import Config
from aggregator.errors import MutualAidError
from spiders.plan import CrawlOptions, CrawlPlan
from spiders.settings import RedisTarget
from spiders.spider import KnownLoader, Report, SourceSpider

# How long a worker's "I am busy" lasts in Redis: longer than Scrapy's 5 s idle heartbeat, so
# an idle worker sees it.
ACTIVE_TTL = 6


class SharedCrawlError(MutualAidError):
    """Redis cannot be reached, or holds something we cannot read."""


@dataclass(frozen=True)
class Keys:
    prefix: str
    source: str

    @property
    def start(self) -> str:
        return f"{self.prefix}:{self.source}:start"

    @property
    def requests(self) -> str:
        return f"{self.prefix}:{self.source}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:{self.source}:dupefilter"

    @property
    def active(self) -> str:
        """Set, with a short expiry, by each worker while it works on the crawl."""
        return f"{self.prefix}:{self.source}:active"


def connect(target: RedisTarget) -> redis.Redis:
    try:
        client = redis.Redis.from_url(target.url)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise SharedCrawlError(f"cannot reach Redis at {target.url}: {exc}") from None
    return client


def start_messages(plan: CrawlPlan) -> list[dict[str, Any]]:
    """What a worker needs to start the crawl: each start URL, its kind and the run's options."""
    options = plan.options.as_meta()
    return [{"url": url, "kind": "listing", "options": options} for url in plan.start_urls] + [
        {"url": url, "kind": "sitemap", "options": options} for url in plan.sitemaps
    ]


def seed_crawl(target: RedisTarget, plan: CrawlPlan) -> int:
    """Start a shared crawl of ``plan.source``; return how many start URLs were pushed."""
    client = connect(target)
    keys = Keys(target.prefix, plan.source)
    messages = [json.dumps(message) for message in start_messages(plan)]
    try:
        with client.pipeline() as pipe:
            pipe.delete(keys.dupefilter)
            pipe.rpush(keys.start, *messages)
            pipe.execute()
    except redis.RedisError as exc:
        raise SharedCrawlError(f"cannot seed the crawl in Redis: {exc}") from None
    finally:
        client.close()
    return len(messages)


def pop_start(client: redis.Redis, keys: Keys, count: int = 100) -> list[dict[str, Any]]:
    """Take up to ``count`` start messages; unreadable ones are dropped."""
    with client.pipeline() as pipe:
        pipe.lrange(keys.start, 0, count - 1)
        pipe.ltrim(keys.start, count, -1)
        raw, _ = pipe.execute()
    messages = []
    for item in raw:
        try:
            message = json.loads(item)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("url"), str):
            messages.append(message)
    return messages


class SharedSourceSpider(SourceSpider):
    """A ``mutualaid worker``'s spider: start URLs come from Redis, and idling is not the end.

    With ``idle_exit`` set, it closes after that many seconds in which neither it nor any other
    worker of the crawl did anything (workers announce their activity in Redis, since one may be
    between pages while another parses the listing that will feed both); without, it waits for
    the next seed.
    """

    def __init__(
        self,
        plan: CrawlPlan,
        config: Config,
        load_known: KnownLoader,
        report: Report | None = None,
        *,
        redis_url: str,
        prefix: str,
        idle_exit: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(plan, config, load_known, report, **kwargs)
        self.keys = Keys(prefix, plan.source)
        self.redis = redis.Redis.from_url(redis_url)
        self.idle_exit = idle_exit
        self._last_active = time.monotonic()
        self._announced = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SharedSourceSpider:
        spider: SharedSourceSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._active, signal=signals.response_received)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        for request in self._take_start_requests():
            yield request

    def _take_start_requests(self) -> list[Request]:
        messages = pop_start(self.redis, self.keys)
        if messages:
            self._active()
            if not self.plan.options.refresh:
                self.known = self._load_known()  # a new crawl: what was stored since counts
        return list(_requests_from(self, messages))

    def _active(self, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        self._last_active = now
        if now - self._announced >= 1.0:
            self._announced = now
            self.redis.set(self.keys.active, 1, ex=ACTIVE_TTL)

    def _idle(self, spider: Spider) -> None:
        requests = self._take_start_requests()
        if self.redis.exists(self.keys.requests, self.keys.active):
            self._last_active = time.monotonic()  # another worker is busy, or left work queued
        for request in requests:
            self.crawler.engine.crawl(request)
        waited = time.monotonic() - self._last_active
        if self.idle_exit is None or waited < self.idle_exit:
            raise DontCloseSpider

    def closed(self, reason: str) -> None:
        super().closed(reason)
        self.redis.close()


def _requests_from(spider: SourceSpider, messages: Iterable[dict[str, Any]]) -> Iterator[Request]:
    for message in messages:
        kind = message.get("kind")
        if kind not in ("listing", "sitemap"):
            continue
        options = CrawlOptions.from_meta(message.get("options"))
        spider._requested = 0  # each seed is a new crawl with its own page budget
        yield from spider._follow(message["url"], kind, options)
