"""HTTP for polling: conditional requests, and the decisions a response implies.

The decisions are plain functions of header values, ``now`` and settings, so they test on
hand-built values: was the feed modified, how long may we wait (Cache-Control ``max-age``, the
feed's ``<ttl>``), how long must we wait (``Retry-After`` on 429/503, exponential backoff after
failures: both read by ``aggregator.net.retry``, shared with the crawls), and whether a redirect
was permanent. ``Fetcher`` is the only I/O here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from aggregator.errors import FetchStoppedError
from aggregator.fetch import Fetched, FetchLimits, fetch_response
from aggregator.net.deadline import stopping_on
from aggregator.net.retry import BACKOFF_CAP as BACKOFF_CAP
from aggregator.net.retry import MAX_HINT as MAX_HINT
from aggregator.net.retry import backoff as backoff
from aggregator.net.retry import clamp as clamp
from aggregator.net.retry import retry_after as retry_after
from aggregator.poll.limiter import HostLimiter

PERMANENT_REDIRECTS = frozenset({301, 308})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
RATE_LIMITED = frozenset({429, 503})
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(no-store|no-cache)(?:$|[,\s=])", re.IGNORECASE)


@dataclass(frozen=True)
class Validators:
    """What a server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None


def conditional_headers(validators: Validators) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` for the validators we hold."""
    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def validators_of(headers: httpx.Headers) -> Validators:
    return Validators(
        etag=_clean_header(headers.get("etag")),
        last_modified=_clean_header(headers.get("last-modified")),
    )


def _clean_header(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:1024] or None


def is_modified(status: int) -> bool:
    return status != 304


def max_age(cache_control: str | None) -> timedelta | None:
    """The ``max-age`` of a ``Cache-Control`` header; ``no-store``/``no-cache`` mean none."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return None
    return clamp(timedelta(seconds=min(int(match[1]), 10**9)), timedelta(0), MAX_HINT)


def feed_ttl(value: object) -> timedelta | None:
    """An RSS ``<ttl>`` (minutes) as a duration; garbage or nonsense means none."""
    try:
        minutes = float(str(value).strip())
    except ValueError:
        return None
    if not 0 < minutes < 10**7:
        return None
    return clamp(timedelta(minutes=minutes), timedelta(0), MAX_HINT)


def next_check_after_success(
    now: datetime,
    interval: timedelta,
    *hints: timedelta | None,
    jitter: timedelta = timedelta(0),
) -> datetime:
    """After a good fetch: the usual interval, lengthened (never shortened) by server hints."""
    wait = max([interval, *(hint for hint in hints if hint is not None)])
    return now + wait + jitter


def next_check_after_failure(
    now: datetime,
    failures: int,
    interval: timedelta,
    wait_asked: timedelta | None = None,
    jitter: timedelta = timedelta(0),
) -> datetime:
    """After a failure: exponential backoff, or the server's ``Retry-After`` if that is longer."""
    wait = backoff(failures, interval)
    if wait_asked is not None:
        wait = max(wait, wait_asked)
    return now + wait + jitter


def permanent_target(fetched: Fetched) -> str | None:
    """The final URL when every redirect on the way was permanent (301/308); else None."""
    if not fetched.redirects:
        return None
    if all(status in PERMANENT_REDIRECTS for status, _url in fetched.redirects):
        return fetched.url
    return None


class Fetcher:
    """A poll run's HTTP: one client, the limits, per-host turns, and a count of requests.

    ``counting()`` gives a fetcher sharing all of that with a count of its own, one per source.
    Once ``stop`` is set (the daemon stopping), a fetch waiting for its turn or for the server
    ends with ``FetchStoppedError``, and so does every later one; ``stopped`` tells it happened.
    """

    def __init__(
        self,
        client: httpx.Client,
        limits: FetchLimits,
        limiter: HostLimiter,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.limits = limits
        self.limiter = limiter
        self.stop = stop
        self.requests = 0
        self.stopped = False

    def counting(self) -> Fetcher:
        return Fetcher(self.client, self.limits, self.limiter, self.stop)

    def get(self, url: str, headers: dict[str, str] | None = None) -> Fetched:
        """GET ``url`` when its host's turn comes; any HTTP status is returned, not raised."""
        self._check_stop(url)
        self.requests += 1
        with self.limiter.turn(url):
            self._check_stop(url)
            try:
                with stopping_on(self.stop):
                    return fetch_response(url, self.limits, self.client, headers)
            except FetchStoppedError as exc:
                self.stopped = True
                raise FetchStoppedError(url, exc.reason) from None

    def _check_stop(self, url: str) -> None:
        if self.stop is not None and self.stop.is_set():
            self.stopped = True
            raise FetchStoppedError(url)

    def get_feed(self, url: str, validators: Validators) -> Fetched:
        """A conditional GET of a feed."""
        return self.get(url, {**conditional_headers(validators), "Accept": FEED_ACCEPT})
