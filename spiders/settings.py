"""Every Scrapy setting the crawls use, in one place, built from the ``crawling:`` and
``network:`` config sections.

Politeness first: robots.txt obeyed (an unreadable one closes the site, see ``robots``), one
request at a time per site, AutoThrottle on top of a fixed delay, retries that back off and honour
Retry-After (``retry``), a user agent that says who we are and how to reach us. Then the outbound
gate shared with the feed poller (``outbound``): http and https only, no forbidden address on any
hop, credentials kept to their origin (``credentials``), a total time per download, a size cap
counted after decompression and one content encoding at most (``encodings``), and no use of a
truncated body. No proxy from the environment: the gate checks the address actually connected
to. ``overrides`` (tests, benchmarks) come last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aggregator.config import Config
from aggregator.net import NetworkPolicy
from aggregator.net.identity import ROBOTS_TOKEN, user_agent
from aggregator.net.redirects import MAX_REDIRECTS

PIPELINE = "spiders.pipeline.IngestPipeline"
POLICY_SETTING = "MUTUALAID_NETWORK_POLICY"  # the NetworkPolicy object (see spiders.outbound)


@dataclass(frozen=True)
class RedisTarget:
    """Where a shared crawl keeps its queue and dupefilter: a Redis URL and a key prefix."""

    url: str
    prefix: str


def build_settings(
    config: Config,
    *,
    workers: int,
    redis: RedisTarget | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Scrapy settings for one crawl process; ``workers`` extraction processes (0: a thread)."""
    crawling, network = config.crawling, config.network
    settings: dict[str, Any] = {
        "BOT_NAME": ROBOTS_TOKEN,
        "USER_AGENT": user_agent(config),
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
        # The whole download, headers to last byte: a server dripping a byte a second is cut off.
        "DOWNLOAD_TIMEOUT": network.total_timeout.total_seconds(),
        "DNS_TIMEOUT": network.connect_timeout.total_seconds(),
        # Compressed bytes as received, and decompressed ones (see spiders.encodings).
        "DOWNLOAD_MAXSIZE": network.max_bytes,
        "DOWNLOAD_WARNSIZE": network.max_bytes // 2,
        "DOWNLOAD_FAIL_ON_DATALOSS": True,  # a truncated body is an error, never a page
        POLICY_SETTING: NetworkPolicy(allow_private=network.allow_private),
        "TWISTED_DNS_RESOLVER": "spiders.outbound.GuardedResolver",
        "HTTPPROXY_ENABLED": False,
        "REDIRECT_MAX_TIMES": MAX_REDIRECTS,
        "COOKIES_ENABLED": False,
        # A page's full URL goes only to its own site; other sites see just its origin.
        "REFERRER_POLICY": "strict-origin-when-cross-origin",
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
            "spiders.outbound.DestinationGateMiddleware": 40,  # before any other, robots.txt too
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.robots.RobotsFailureMiddleware": 540,
            "spiders.retry.BackoffRetryMiddleware": 550,
            "spiders.credentials.RedirectCredentialsMiddleware": 555,  # after the header makers
            "spiders.outbound.RefusedLookupMiddleware": 560,  # its exceptions before retrying
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "spiders.outbound.GuardedRedirectMiddleware": 600,  # where Scrapy's was
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            "spiders.encodings.BoundedDecompressionMiddleware": 590,
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
