"""Following one redirect hop: whether to, where it goes, and what the next request may carry.

Pure functions on URL strings and header mappings, shared by the httpx fetcher
(``aggregator.fetch``) and the crawls (``spiders.outbound``, ``spiders.credentials``).
Credentials (the ``CREDENTIAL_HEADERS``, a user and password in the URL) go on only while the hop
stays on the same origin (``aggregator.net.origin``): never to another host or port, never from
https down to http (nor up: that changes the origin too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from aggregator.net.origin import same_origin
from aggregator.net.policy import check_scheme

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Every header that speaks for the user to one origin; lower case.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
TOO_MANY_REDIRECTS = f"more than {MAX_REDIRECTS} redirects"


def is_redirect(status: int, location: str | None) -> bool:
    """Whether a response with ``status`` and a ``Location`` header sends us on."""
    return status in REDIRECT_STATUSES and bool(location and location.strip())


def too_many_redirects(followed: int) -> bool:
    """Whether one more redirect, after ``followed`` already, goes past the limit."""
    return followed >= MAX_REDIRECTS


def redirect_target(current: str, location: str) -> str:
    """``location`` resolved against ``current``, without a fragment.

    Raises ``BlockedDestinationError`` for a scheme other than http(s) (``file:``, ``data:``)
    or a location that is no URL at all.
    """
    resolved = urljoin(current, location.strip())
    check_scheme(resolved)
    return urlunsplit(urlsplit(resolved)._replace(fragment=""))


def keeps_credentials(previous: str, following: str) -> bool:
    """Whether credentials may follow a hop from ``previous`` to ``following``: same origin."""
    return same_origin(previous, following)


def headers_to_drop(chain: Sequence[str]) -> frozenset[str]:
    """The request headers (lower case) the last URL of a redirect ``chain`` must go without.

    ``chain`` is the first URL requested, then every hop up to the one about to be made. Once
    a hop has left the origin, credentials stay dropped, even on a way back to it.
    """
    first = chain[0] if chain else ""
    if all(keeps_credentials(first, url) for url in chain[1:]):
        return frozenset()
    return CREDENTIAL_HEADERS


def hop_headers(headers: Mapping[str, str], drop: frozenset[str]) -> dict[str, str]:
    """``headers`` without the ones named in ``drop`` (compared case-insensitively)."""
    return {name: value for name, value in headers.items() if name.lower() not in drop}


def without_userinfo(url: str) -> str:
    """``url`` without a user name or password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
