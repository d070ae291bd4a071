"""Fetching one URL over HTTP with the limits every fetch here must have.

Timeouts (connect and total), at most five redirects, and a cap on the decoded body size. Feed
polling builds conditional requests and backoff on top of ``fetch_response``, which hands back
every status (304, 429, 503 ...) with the redirects that led to it instead of raising.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from aggregator import __version__
from aggregator.errors import FetchError

USER_AGENT = f"mutualaid/{__version__} (feed aggregator; +https://github.com/mutualaid)"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL, after redirects
    status: int
    headers: httpx.Headers
    body: bytes
    # Each redirect followed on the way: (status, URL that answered with it), oldest first.
    redirects: tuple[tuple[int, str], ...] = ()

    def text(self) -> str:
        return httpx.Response(self.status, headers=self.headers, content=self.body).text


def fetch(
    url: str, limits: FetchLimits = FetchLimits(), client: httpx.Client | None = None
) -> Fetched:
    """GET ``url``; raise ``FetchError`` for network errors, HTTP errors and oversized bodies."""
    fetched = fetch_response(url, limits, client)
    if fetched.status >= 400:
        raise FetchError(url, f"HTTP {fetched.status}")
    return fetched


def fetch_response(
    url: str,
    limits: FetchLimits = FetchLimits(),
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` with extra request ``headers``; any HTTP status is returned, not raised.

    Network errors, timeouts, too many redirects and oversized bodies raise ``FetchError``.
    """
    own_client = client is None
    client = client or make_client(limits)
    deadline = time.monotonic() + limits.total_timeout
    try:
        with client.stream("GET", url, headers=headers) as response:
            body = _read_capped(response, limits.max_bytes, deadline)
    except httpx.TooManyRedirects:
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.HTTPError as exc:
        raise FetchError(url, _describe(exc)) from None
    except (httpx.InvalidURL, UnicodeError):  # a URL or Location header httpx cannot use
        raise FetchError(url, "invalid URL or redirect location") from None
    finally:
        if own_client:
            client.close()
    redirects = tuple((hop.status_code, str(hop.url)) for hop in response.history)
    return Fetched(str(response.url), response.status_code, response.headers, body, redirects)


def make_client(limits: FetchLimits = FetchLimits()) -> httpx.Client:
    timeout = httpx.Timeout(limits.total_timeout, connect=limits.connect_timeout)
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    )


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(str(response.url), f"body larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchError(str(response.url), "took longer than the total time limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.DecodingError):
        return "body could not be decompressed"
    return str(exc) or type(exc).__name__
