"""Retry-After from hostile or broken servers, in both places that read it: the feed poller's
schedule after a 429/503, and the spiders' retry middleware. One parser
(``aggregator.net.retry.retry_after``) serves both: seconds and HTTP dates are honoured, huge
values are clamped to a day, past dates mean no wait, and anything else means plain backoff."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider
from scrapy.http import Response as ScrapyResponse
from scrapy.utils.test import get_crawler

from spiders.retry import BackoffRetryMiddleware, retry_delay
from tests.feedserver import ScriptedServer
from tests.pollkit import Clock, PollEnv, poll_env
from tests.sites.server import Response

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
IN_3_HOURS = format_datetime(NOW + 3 * HOUR, usegmt=True)
IN_30_SECONDS = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
HOURS_AGO = format_datetime(NOW - 3 * HOUR, usegmt=True)
BACKOFF = None  # "no usable Retry-After: plain backoff"

# (header, what the poller waits after a first failure with a 1h interval)
POLLER_CASES = [
    ("7200", 2 * HOUR),  # seconds, longer than the backoff: honoured
    (IN_3_HOURS, 3 * HOUR),  # an HTTP date: honoured
    (str(10**12), DAY),  # huge: clamped to the day cap
    ("99999999999999999999999", DAY),
    ("Fri, 31 Dec 9999 23:59:59 GMT", DAY),
    ("60", HOUR),  # shorter than the backoff: the backoff wins
    (HOURS_AGO, HOUR),  # in the past: no wait of its own, so the backoff
    ("-30", HOUR),  # negative: garbage
    ("after lunch", HOUR),
    ("1e6", HOUR),
    ("²", HOUR),  # str.isdigit() is true for it; int() is not
    ("١٢٠", HOUR),  # Arabic-Indic digits are not HTTP digits
    ("", HOUR),
]


def _on_the_wire(header: str) -> str:
    """The test server writes headers as Latin-1: send other text as its UTF-8 bytes (which
    httpx decodes back as UTF-8)."""
    try:
        header.encode("latin-1")
    except UnicodeEncodeError:
        return header.encode("utf-8").decode("latin-1")
    return header


@pytest.fixture
def env(write_config, sqlite_url, server: ScriptedServer) -> Iterator[PollEnv]:
    sources = {"site": {"feed": server.url("/feed/"), "relevance": "keep_all"}}
    with poll_env(write_config, sqlite_url, sources) as environment:
        yield environment


@pytest.mark.parametrize(("header", "wait"), POLLER_CASES)
@pytest.mark.parametrize("status", [429, 503])
def test_the_poller_honours_clamps_or_ignores_retry_after(
    server: ScriptedServer, env: PollEnv, status: int, header: str, wait: timedelta
) -> None:
    clock = Clock()
    server.route("/feed/", Response(status, b"busy", headers={"Retry-After": _on_the_wire(header)}))
    result = env.one("site", clock=clock)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith(f"HTTP {status}: rate limited")
    assert "internal error" not in result.error
    assert env.state("site").next_check_at == clock.now + wait


# (header, seconds the spider waits before retry 1, with backoff 2s and max_wait 600s)
SPIDER_CASES = [
    ("120", 120.0),
    (IN_30_SECONDS, 30.0),
    (HOURS_AGO, 0.0),  # already past: retry now
    (str(10**12), None),  # clamped to a day, which is past max_wait: give up on the page
    ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    ("-30", 2.0),  # garbage: the backoff
    ("soon", 2.0),
    ("²", 2.0),
    ("١٢٠", 2.0),
    ("", 2.0),
    (None, 2.0),
]


@pytest.mark.parametrize(("header", "delay"), SPIDER_CASES)
def test_the_spider_retry_delay(header: str | None, delay: float | None) -> None:
    assert retry_delay(1, header, NOW, backoff=2.0, max_wait=600.0) == delay


@pytest.fixture
def middleware() -> BackoffRetryMiddleware:
    settings = {"MUTUALAID_RETRY_BACKOFF": 2.0, "MUTUALAID_RETRY_MAX_WAIT": 600.0}
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider.from_crawler(crawler, name="retry-test")
    return BackoffRetryMiddleware.from_crawler(crawler)


@pytest.mark.parametrize(
    ("header", "pause"),
    [("120", 120), ("²", 2), ("-30", 2), ("garbage", 2), (HOURS_AGO.replace("2026", "2001"), 0)],
)
def test_the_retry_middleware_pauses_the_site_and_retries(
    middleware: BackoffRetryMiddleware, header: str, pause: int
) -> None:
    request = Request("https://news.example/a")
    response = ScrapyResponse(request.url, status=503, headers={"Retry-After": header})
    outcome = middleware.process_response(request, response)
    assert isinstance(outcome, Request) and outcome.meta["retry_times"] == 1
    paused = middleware._paused_until["news.example"] - time.monotonic()
    assert pause - 5 <= paused <= pause


def test_the_retry_middleware_gives_up_on_a_huge_retry_after(
    middleware: BackoffRetryMiddleware,
) -> None:
    request = Request("https://news.example/a")
    response = ScrapyResponse(request.url, status=429, headers={"Retry-After": str(10**12)})
    assert middleware.process_response(request, response) is response
    assert "news.example" not in middleware._paused_until
