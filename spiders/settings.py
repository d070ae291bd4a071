"""Every Scrapy setting the crawls use, in one place, built from the ``crawling:`` config section.

Politeness first: robots.txt obeyed (an unreadable one closes the site, see ``robots``), one
request at a time per site, AutoThrottle on top of a fixed delay, retries that back off and honour
Retry-After (``retry``), a user agent that says who we are and how to reach us, 10 MiB per page,
http and https only. ``overrides`` (tests, benchmarks) come last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aggregator import __version__
from aggregator.config import CrawlingConfig

ROBOTS_TOKEN = "mutualaid"
PIPELINE = "spiders.pipeline.IngestPipeline"


@dataclass(frozen=True)
class RedisTarget:
    """Where a shared crawl keeps its queue and dupefilter: a Redis URL and a key prefix."""

    url: str
    prefix: str


def user_agent(crawling: CrawlingConfig) -> str:
    return crawling.user_agent or (
        f"{ROBOTS_TOKEN}/{__version__} (+{crawling.contact}; collects writing on mutual aid)"
    )


def build_settings(
    crawling: CrawlingConfig,
    *,
    workers: int,
    redis: RedisTarget | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Scrapy settings for one crawl process; ``workers`` extraction processes (0: a thread)."""
    settings: dict[str, Any] = {
        "BOT_NAME": ROBOTS_TOKEN,
        "USER_AGENT": user_agent(crawling),
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": ROBOTS_TOKEN,
        "CONCURRENT_REQUESTS": 16,
        # A page yields one item or a dozen requests; Scrapy starts this many cooperative tasks
        # for every response, so the default (100) costs more than the items themselves.
        "CONCURRENT_ITEMS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawling.concurrency_per_domain,
        "DOWNLOAD_DELAY": crawling.download_delay,
        "AUTOTHROTTLE_ENABLED": crawling.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawling.download_delay, 1.0),
        "AUTOTHROTTLE_MAX_DELAY": crawling.autothrottle_max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_TIMEOUT": crawling.timeout.total_seconds(),
        "DOWNLOAD_MAXSIZE": crawling.max_bytes,
        "DOWNLOAD_WARNSIZE": crawling.max_bytes // 2,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawling.retries,
        "MUTUALAID_RETRY_BACKOFF": crawling.retry_backoff,
        "MUTUALAID_RETRY_MAX_WAIT": crawling.retry_max_wait.total_seconds(),
        "HTTPCACHE_ENABLED": crawling.http_cache,
        "HTTPCACHE_DIR": str(crawling.http_cache_dir),
        "HTTPCACHE_IGNORE_HTTP_CODES": [429, 500, 502, 503, 504],
        # Only http and https: no local files, FTP, S3 or data: URLs, whatever a page links to.
        "DOWNLOAD_HANDLERS": {"file": None, "ftp": None, "s3": None, "data": None},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.retry.BackoffRetryMiddleware": 550,
            "spiders.robots.RobotsFailureMiddleware": 540,
        },
        "ITEM_PIPELINES": {PIPELINE: 300},
        "MUTUALAID_WORKERS": workers,
        "MUTUALAID_BATCH_SIZE": crawling.batch_size,
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
        },
        # The platform's own reactor: with the asyncio one, Twisted's connection pool opens a
        # new connection for nearly every request (and loopback ones stall a second at times).
        "TWISTED_REACTOR": None,
        "LOG_LEVEL": "INFO",
        "LOGSTATS_INTERVAL": 0,
    }
    if redis is not None:
        settings.update(redis_settings(redis))
        # Take from the shared queue only what can be downloaded now, so that the other
        # workers find the rest there instead of in this one's memory.
        settings["CONCURRENT_REQUESTS"] = crawling.concurrency_per_domain
    settings.update(overrides or {})
    return settings


def redis_settings(redis: RedisTarget) -> dict[str, Any]:
    """scrapy-redis holds the request queue and the dupefilter, shared by every worker."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # one worker stopping must not wipe the others' queue
        "SCHEDULER_QUEUE_KEY": f"{redis.prefix}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{redis.prefix}:%(spider)s:dupefilter",
        "REDIS_URL": redis.url,
    }
