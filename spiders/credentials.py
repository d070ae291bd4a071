"""Credentials and cookies stay with the origin they were meant for when a redirect leaves it.

Scrapy's ``RedirectMiddleware`` drops ``Authorization`` when the scheme, host or port changes,
and ``Proxy-Authorization`` only when a proxy is in use, but keeps ``Cookie`` on a redirect to
another port of the same host or from http to https; and the middlewares that add default
headers run again on every hop, bringing back what an earlier hop lost. Here, after them, a hop
loses what ``aggregator.net.redirects.headers_to_drop`` names for its whole redirect chain: every
credential header once any hop changed the origin (scheme, host or port; a downgrade to http is
one), as the feed fetcher does.
"""

from __future__ import annotations

from scrapy import Request, Spider

from aggregator.net.redirects import headers_to_drop


class RedirectCredentialsMiddleware:
    """Strips the credential headers from a redirect hop that changed the origin."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        hops = request.meta.get("redirect_urls")
        if not hops:
            return
        for header in headers_to_drop([*hops, request.url]):
            request.headers.pop(header.encode("ascii"), None)
