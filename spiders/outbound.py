"""The outbound-request gate for crawls: the same ``NetworkPolicy`` as the feed poller's fetches.

Two checks, so that neither a URL nor a name can lead a crawl somewhere it must not go:

- ``DestinationGateMiddleware``, first in the downloader chain, refuses a request whose URL is
  not http(s) or names a forbidden address (odd spellings such as ``2130706433`` included).
  Redirects and retries are new requests, so every hop passes it again.
- ``GuardedRedirectMiddleware``, in place of Scrapy's redirect middleware, follows a redirect as
  ``aggregator.net.redirects`` decides for the feed fetcher too: a ``Location`` of another
  scheme and a hop past ``MAX_REDIRECTS`` are refusals with their reason, not silent stops.
- ``GuardedResolver``, installed on the reactor, checks every address a name resolves to before
  Twisted connects to it, cached answers included, so a name pointing at loopback or a private
  network gets no connection. Twisted gives a resolver no way to say why it failed, so the
  resolver remembers its refusals and ``RefusedLookupMiddleware`` turns the lookup error back
  into the refusal (before the retry middleware would try again).

A refused request becomes ``RefusedDownload``, an ``IgnoreRequest`` the spider counts as an
error with its reason; nothing of it is fetched or stored.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from scrapy.settings import BaseSettings
from scrapy.utils.datatypes import LocalCache
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from aggregator.errors import BlockedDestinationError
from aggregator.net import NetworkPolicy
from aggregator.net.redirects import (
    TOO_MANY_REDIRECTS,
    is_redirect,
    redirect_target,
    too_many_redirects,
)
from spiders.settings import POLICY_SETTING

log = logging.getLogger(__name__)
REMEMBERED_REFUSALS = 1000


class RefusedDownload(IgnoreRequest):
    """A request this tool will not make, or a response it will not read: an error, not a skip."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


def policy_from(settings: BaseSettings) -> NetworkPolicy:
    """The crawl's policy (``build_settings`` puts it there); the strict one when none is set."""
    policy = settings.get(POLICY_SETTING)
    return policy if isinstance(policy, NetworkPolicy) else NetworkPolicy()


class RefusedAddressError(DNSLookupError):
    """A name resolved to an address the policy forbids."""


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing every answer (fresh or cached) the policy forbids.

    Twisted resolves IP-literal hosts through it too, so they meet the same check here as in
    ``DestinationGateMiddleware``.
    """

    def __init__(
        self, reactor: ReactorBase, cache_size: int, timeout: float, policy: NetworkPolicy
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy
        self.refused: LocalCache[str, str] = LocalCache(REMEMBERED_REFUSALS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), policy_from(settings))

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802
        return super().getHostByName(name, timeout).addCallback(self._checked, name)

    def _checked(self, address: str, name: str) -> str:
        try:
            self.policy.check_address(address, name)
        except BlockedDestinationError as exc:
            self.refused[name.lower()] = exc.reason
            raise RefusedAddressError(f"{name}: {exc.reason}") from None
        self.refused.pop(name.lower(), None)
        return address

    def refusal(self, name: str) -> str | None:
        """Why the last lookup of ``name`` was refused; ``None`` if it was not."""
        return self.refused.get(name.lower())


class DestinationGateMiddleware:
    """Refuses requests whose URL the policy forbids, before anything else handles them."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(policy_from(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        try:
            self.policy.check_url(request.url)
        except BlockedDestinationError as exc:
            raise refused(request.url, exc.reason) from None


class GuardedRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirect middleware, with the fetcher's refusals and its limit.

    A hop back to a URL of its own chain is followed rather than dropped by the duplicate
    filter, so a redirect loop ends at the limit, as an error, the way the fetcher's does.
    """

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        location = response.headers.get(b"Location")
        text = location.decode("latin-1") if location else None
        if is_redirect(response.status, text) and self._follows(request, response):
            try:
                redirect_target(request.url, text or "")
            except BlockedDestinationError as exc:
                raise refused(request.url, exc.reason) from None
            if too_many_redirects(len(request.meta.get("redirect_urls", ()))):
                raise refused(request.url, TOO_MANY_REDIRECTS)
        result = super().process_response(request, response, spider)
        if isinstance(result, Request) and result.url in _chain(request):
            result.dont_filter = True
        return result

    def _follows(self, request: Request, response: Response) -> bool:
        """Whether Scrapy would follow this redirect at all (not one the spider asked to see)."""
        meta = request.meta
        spider_handles = getattr(self.crawler.spider, "handle_httpstatus_list", ())
        return not (
            meta.get("dont_redirect")
            or meta.get("handle_httpstatus_all")
            or response.status in meta.get("handle_httpstatus_list", ())
            or response.status in spider_handles
        )


def _chain(request: Request) -> set[str]:
    return {*request.meta.get("redirect_urls", ()), request.url}


class RefusedLookupMiddleware:
    """Turns a lookup the ``GuardedResolver`` refused into ``RefusedDownload``, with its reason.

    Placed just above the retry middleware: its ``process_exception`` runs first, so a refused
    name is not retried.
    """

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        if not isinstance(exception, CannotResolveHostError | DNSLookupError):
            return
        from twisted.internet import reactor

        resolver = getattr(reactor, "resolver", None)
        host = urlparse_cached(request).hostname or ""
        reason = resolver.refusal(host) if isinstance(resolver, GuardedResolver) else None
        if reason is not None:
            raise refused(request.url, reason)


def refused(url: str, reason: str) -> RefusedDownload:
    """The error for a refused ``url``, logged on one line."""
    log.warning("not fetching %s: %s", url, reason)
    return RefusedDownload(url, reason)
