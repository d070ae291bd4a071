"""Credentials and cookies stay with the origin they were meant for when a redirect leaves it.

Scrapy's ``RedirectMiddleware`` drops ``Authorization`` when the scheme, host or port changes,
and ``Proxy-Authorization`` when the scheme does, but keeps ``Cookie`` on a redirect to another
port of the same host or from http to https. Here every redirect hop that changes the origin
(scheme, host or port; a downgrade to http is one) loses ``Authorization`` and ``Cookie``,
after the middlewares that add default headers have run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request, Spider

DEFAULT_PORTS = {"http": 80, "https": 443}
ORIGIN_BOUND_HEADERS = (b"Authorization", b"Cookie")


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port filled in for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def leaves_origin(source: str, target: str) -> bool:
    """True when a redirect from ``source`` to ``target`` goes to another origin."""
    return origin(source) != origin(target)


class RedirectCredentialsMiddleware:
    """Strips ``Authorization`` and ``Cookie`` from a redirect hop that changed the origin."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        hops = request.meta.get("redirect_urls")
        if hops and leaves_origin(hops[-1], request.url):
            for header in ORIGIN_BOUND_HEADERS:
                request.headers.pop(header, None)
