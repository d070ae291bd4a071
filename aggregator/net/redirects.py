"""Following one redirect hop: where it goes, and what the next request may carry.

Pure functions on URLs and headers. Credentials (``Authorization``, ``Cookie``, a user and
password in the URL) go on only while the hop stays on the same origin (scheme, host, port)
and never from https down to http.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin

import httpx

from aggregator.net.policy import check_scheme

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def redirect_location(response: httpx.Response) -> str | None:
    """The Location a redirect response points to, or ``None`` when it is not a redirect."""
    if response.status_code not in REDIRECT_STATUSES:
        return None
    return response.headers.get("location") or None


def next_url(current: httpx.URL, location: str) -> httpx.URL:
    """``location`` resolved against ``current``, without a fragment.

    Raises ``BlockedDestinationError`` for a scheme other than http(s) (``file:``, ``data:``),
    ``InvalidURL`` or ``ValueError`` for a location that is no URL at all.
    """
    resolved = urljoin(str(current), location.strip())
    check_scheme(resolved)
    return httpx.URL(resolved).copy_with(fragment=None)


def check_location(response: httpx.Response) -> None:
    """A response hook: refuse a redirect to a scheme other than http(s) as soon as it arrives.

    httpx resolves every redirect's Location (``next_request``) even when not following it, and
    a ``data:`` URL fails there as an invalid URL; this names the refusal for what it is.
    """
    location = redirect_location(response)
    if location is not None:
        next_url(response.request.url, location)


def keeps_credentials(previous: httpx.URL, following: httpx.URL) -> bool:
    """Whether credentials may follow a hop: same origin, and no fall from https to http."""
    return _origin(previous) == _origin(following)


def hop_headers(headers: Mapping[str, str], keep_credentials: bool) -> dict[str, str]:
    """The request headers for the next hop, credentials dropped unless ``keep_credentials``."""
    if keep_credentials:
        return dict(headers)
    return {
        name: value for name, value in headers.items() if name.lower() not in CREDENTIAL_HEADERS
    }


def without_credentials(url: httpx.URL) -> httpx.URL:
    """``url`` without a user name or password."""
    if not url.userinfo:
        return url
    return url.copy_with(username=None, password=None)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)
