"""Outbound-request safety: which URLs and addresses this tool may fetch from.

Every fetch (feeds, pages, WordPress API calls, Scrapy downloads) goes through the same
``NetworkPolicy``. A URL must be http(s); the address actually connected to, on every redirect
hop, must be a public unicast address unless ``network.allow_private`` is set.

Every outbound decision is a pure function here, used by the httpx fetcher
(``aggregator.fetch``, ``aggregator.poll.http``) and the crawls (``spiders/``) alike: schemes,
origins and default ports (``origin``), address classes (``addresses``), redirects and the
credential headers a hop drops (``redirects``), Retry-After and backoff (``retry``), robots.txt
answers (``robots``), the user agent (``identity``). The I/O around them lives in ``policy``
(resolving), ``backend`` and ``transport`` (the httpx side) and in ``spiders.outbound``.
"""

from aggregator.net.addresses import blocked_reason
from aggregator.net.policy import NetworkPolicy

__all__ = ["NetworkPolicy", "blocked_reason"]
