"""robots.txt that cannot be read: a server error or no answer means the site is closed to us.

Scrapy's ``RobotsTxtMiddleware`` parses whatever body comes back, so a robots.txt answering 500
(an HTML error page) reads as "allow everything", and one that cannot be fetched at all is
ignored. RFC 9309 (2.3.1.4) says an unreachable robots.txt means complete disallow. This
middleware sits outside the retry middleware: once retries are spent, it hands the answer to
``aggregator.net.robots.robots_body`` (5xx or 429: disallow everything; 4xx: allow everything),
and a network error becomes a robots.txt that disallows everything.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.statscollectors import StatsCollector

from aggregator.net.robots import DISALLOW_ALL, robots_body

__all__ = ["DISALLOW_ALL", "RobotsFailureMiddleware", "closed_by_robots", "robots_body"]


def is_robots_request(request: Request) -> bool:
    """The request Scrapy's robots.txt middleware makes for itself."""
    return bool(request.meta.get("dont_obey_robotstxt")) and (
        urlsplit(request.url).path == "/robots.txt"
    )


class RobotsFailureMiddleware:
    """Turns unusable robots.txt answers into what RFC 9309 says they mean.

    Why a site was closed goes into the crawl's stats (``closed_by_robots``), so the spider can
    say "robots.txt answered HTTP 503" instead of Scrapy's bare "Forbidden by robots.txt".
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if not is_robots_request(request):
            return response
        body = robots_body(response.status, response.body)
        if body is response.body:
            return response
        if body == DISALLOW_ALL:
            self._closed(request, f"robots.txt answered HTTP {response.status}: site not crawled")
        return TextResponse(response.url, status=200, body=body, request=request)

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Response | None:
        if not is_robots_request(request) or isinstance(exception, IgnoreRequest):
            return None
        what = str(exception) or type(exception).__name__
        self._closed(request, f"robots.txt could not be fetched: {what}")
        return TextResponse(request.url, status=200, body=DISALLOW_ALL, request=request)

    def _closed(self, request: Request, reason: str) -> None:
        self.stats.set_value(closed_by_robots(request.url), reason)


def closed_by_robots(url: str) -> str:
    """The stats key holding why the robots.txt of ``url``'s site closed it, if it did."""
    return f"mutualaid/closed_by_robots/{urlsplit(url).netloc.lower()}"
