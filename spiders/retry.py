"""Retries with backoff, and Retry-After honoured, for the whole site rather than one request.

Scrapy's ``RetryMiddleware`` re-sends a failed request at once. Here every retry first pauses its
site: for the ``Retry-After`` the server asked for (seconds or an HTTP date), else for a backoff
that doubles with each attempt, both decided by ``aggregator.net.retry`` as for the feed poller.
Requests to a paused site wait in ``process_request`` until the pause ends, so a site that says
"slow down" gets no request at all in the meantime. A ``Retry-After`` longer than
``retry_max_wait`` gives up on the page instead of stalling the crawl.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

from aggregator.net import retry as policy

log = logging.getLogger(__name__)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` value asks for; ``None`` when unreadable."""
    delay = policy.retry_after(value, now)
    return None if delay is None else delay.total_seconds()


def retry_delay(
    attempt: int, retry_after: str | None, now: datetime, *, backoff: float, max_wait: float
) -> float | None:
    """``aggregator.net.retry.retry_delay`` under the names of the crawl's settings."""
    return policy.retry_delay(attempt, retry_after, now, base=backoff, max_wait=max_wait)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, waiting before each retry and pausing the site meanwhile."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("MUTUALAID_RETRY_BACKOFF", 2.0)
        self.max_wait = settings.getfloat("MUTUALAID_RETRY_MAX_WAIT", 600.0)
        self._paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        wait = self._paused_until.get(_site(request), 0.0) - time.monotonic()
        if wait > 0:
            from twisted.internet import reactor

            await deferLater(reactor, wait)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0) + 1
        header = response.headers.get("Retry-After")
        retry_after = header.decode("latin-1") if header else None
        delay = retry_delay(
            attempt, retry_after, datetime.now(UTC), backoff=self.backoff, max_wait=self.max_wait
        )
        if delay is None:
            log.warning("giving up on %s: Retry-After %s is too long", request.url, retry_after)
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        self._pause(request, delay)
        return retry

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            attempt = request.meta.get("retry_times", 0) + 1
            now = datetime.now(UTC)
            delay = retry_delay(attempt, None, now, backoff=self.backoff, max_wait=self.max_wait)
            self._pause(request, delay or 0.0)
        return retry

    def _pause(self, request: Request, delay: float) -> None:
        site = _site(request)
        until = time.monotonic() + delay
        self._paused_until[site] = max(until, self._paused_until.get(site, 0.0))
        if delay >= 1:
            log.info("pausing %s for %.0fs before retrying %s", site, delay, request.url)


def _site(request: Request) -> str:
    return urlparse_cached(request).netloc.lower()
