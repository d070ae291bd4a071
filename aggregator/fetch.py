"""Fetching one URL over HTTP with the limits and checks every fetch here must have.

Every request goes through ``make_client``'s guarded transport (``aggregator.net.transport``):
http(s) only, and only to addresses the ``NetworkPolicy`` accepts, checked on the address
actually connected to. ``fetch_response`` follows redirects itself (at most five), so each hop
is a request of its own, checked again, and credentials do not follow a hop to another origin.
The whole fetch has one time limit, and the body a decoded-size cap (``aggregator.net.decoding``);
a body cut short is an error, never a result. Feed polling builds conditional requests and
backoff on top of ``fetch_response``, which hands back every status (304, 429, 503 ...) with the
redirects that led to it instead of raising.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from aggregator.config import Config, NetworkConfig
from aggregator.errors import FetchError
from aggregator.net.deadline import fetch_deadline
from aggregator.net.decoding import ACCEPT_ENCODING, CappedDecoder
from aggregator.net.identity import BARE_USER_AGENT, user_agent
from aggregator.net.policy import NetworkPolicy, check_scheme
from aggregator.net.redirects import (
    MAX_REDIRECTS,
    TOO_MANY_REDIRECTS,
    headers_to_drop,
    hop_headers,
    is_redirect,
    keeps_credentials,
    redirect_target,
    too_many_redirects,
    without_userinfo,
)
from aggregator.net.transport import GuardedTransport

__all__ = [
    "MAX_REDIRECTS",
    "FetchLimits",
    "Fetched",
    "client_for",
    "fetch",
    "fetch_response",
    "make_client",
]


PUBLIC_ONLY = NetworkPolicy()  # the default: no loopback or private destinations


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    total_timeout: float = 30.0  # the whole fetch: every hop, headers and body
    max_bytes: int = 10 * 1024 * 1024  # decoded body size

    @classmethod
    def from_config(cls, network: NetworkConfig) -> FetchLimits:
        return cls(
            connect_timeout=network.connect_timeout.total_seconds(),
            total_timeout=network.total_timeout.total_seconds(),
            max_bytes=network.max_bytes,
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL, after redirects
    status: int
    headers: httpx.Headers  # as received (Content-Encoding included; ``body`` is decoded)
    body: bytes
    # Each redirect followed on the way: (status, URL that answered with it), oldest first.
    redirects: tuple[tuple[int, str], ...] = ()

    def text(self) -> str:
        """The body as text, in the charset the Content-Type names (else detected)."""
        content_type = self.headers.get("content-type")
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(self.status, headers=headers, content=self.body).text


def fetch(
    url: str,
    limits: FetchLimits = FetchLimits(),
    client: httpx.Client | None = None,
    *,
    policy: NetworkPolicy = PUBLIC_ONLY,
) -> Fetched:
    """GET ``url``; raise ``FetchError`` for network errors, HTTP errors and oversized bodies."""
    fetched = fetch_response(url, limits, client, policy=policy)
    if fetched.status >= 400:
        raise FetchError(url, f"HTTP {fetched.status}")
    return fetched


def fetch_response(
    url: str,
    limits: FetchLimits = FetchLimits(),
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
    *,
    policy: NetworkPolicy = PUBLIC_ONLY,
) -> Fetched:
    """GET ``url`` with extra request ``headers``; any HTTP status is returned, not raised.

    ``client`` must come from ``make_client`` (its transport does the checks); without one, a
    client with ``policy`` is made for this fetch. Refused destinations raise
    ``BlockedDestinationError``; network errors, timeouts, too many redirects, oversized or
    truncated bodies raise ``FetchError``.
    """
    own_client = client is None
    client = client or make_client(limits, policy)
    try:
        with fetch_deadline(limits.total_timeout):
            return _follow(client, url, dict(headers or {}), limits)
    except httpx.HTTPError as exc:
        raise FetchError(url, _describe(exc)) from None
    except (httpx.InvalidURL, UnicodeError, ValueError):  # a URL or Location httpx cannot use
        raise FetchError(url, "invalid URL or redirect location") from None
    finally:
        if own_client:
            client.close()


def make_client(
    limits: FetchLimits = FetchLimits(),
    policy: NetworkPolicy = PUBLIC_ONLY,
    user_agent: str = BARE_USER_AGENT,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """A client for ``fetch_response``: guarded transport, no proxies, no cookies kept.

    Cookies live for one fetch only (``_follow``), so nothing one site sets reaches another.
    ``ssl_context`` replaces the default trust (certifi's roots), e.g. for a private CA.
    """
    return httpx.Client(
        transport=GuardedTransport(policy, ssl_context=ssl_context),
        timeout=httpx.Timeout(limits.total_timeout, connect=limits.connect_timeout),
        follow_redirects=False,
        event_hooks={"response": [_refuse_other_schemes]},
        trust_env=False,
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # refuses every cookie
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
    )


def client_for(config: Config, limits: FetchLimits | None = None) -> httpx.Client:
    """``make_client`` with the config's network policy and limits, and our user agent."""
    return make_client(
        limits or FetchLimits.from_config(config.network),
        NetworkPolicy(allow_private=config.network.allow_private),
        user_agent(config),
    )


def _follow(
    client: httpx.Client, url: str, headers: dict[str, str], limits: FetchLimits
) -> Fetched:
    """Request ``url`` and each redirect after it; the first answer that is not a redirect.

    Every decision on the way is ``aggregator.net.redirects``'s; this only carries it out.
    """
    check_scheme(url)  # before httpx, which reads ``file:///x`` as a relative ``/x``
    chain = [_as_sent(url)]  # every URL requested, the first one included
    cookies = httpx.Cookies()  # what the sites of this one fetch set, for their own next hops
    redirects: list[tuple[int, str]] = []
    while True:
        target = chain[-1]
        request = client.build_request("GET", target, headers=headers)
        cookies.set_cookie_header(request)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            location = response.headers.get("location")
            if not is_redirect(response.status_code, location):
                body = _read_body(response, limits.max_bytes, target)
                redirected = tuple(redirects)
                return Fetched(target, response.status_code, response.headers, body, redirected)
            cookies.extract_cookies(response)
        finally:
            response.close()
        if too_many_redirects(len(redirects)):
            raise FetchError(url, TOO_MANY_REDIRECTS)
        redirects.append((response.status_code, target))
        following = _as_sent(redirect_target(target, location or ""))
        if not keeps_credentials(target, following):
            cookies = httpx.Cookies()
        drop = headers_to_drop([*chain, following])
        if drop:
            headers = hop_headers(headers, drop)
            following = without_userinfo(following)
        chain.append(following)


def _read_body(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    """The decoded body, read raw so the cap applies before anything is inflated."""
    decoder = CappedDecoder(response.headers.get("content-encoding"), max_bytes, url)
    parts = [decoder.feed(raw) for raw in response.iter_raw()]
    parts.append(decoder.finish())
    return b"".join(parts)


def _as_sent(url: str) -> str:
    """``url`` as httpx sends it (host in IDNA, path percent-encoded): how it is recorded."""
    return str(httpx.URL(url))


def _refuse_other_schemes(response: httpx.Response) -> None:
    """A response hook: refuse a redirect to a scheme other than http(s) as soon as it arrives.

    httpx resolves every redirect's Location (``next_request``) even when not following it, and
    a ``data:`` URL fails there as an invalid URL; this names the refusal for what it is.
    """
    location = response.headers.get("location")
    if is_redirect(response.status_code, location):
        redirect_target(str(response.request.url), location or "")


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError) and "complete message body" in str(exc):
        return f"body truncated: {exc}"
    return str(exc) or type(exc).__name__
