"""Outbound-request safety: which URLs and addresses this tool may fetch from.

Every fetch (feeds, pages, WordPress API calls, Scrapy downloads) goes through the same
``NetworkPolicy``. A URL must be http(s); the address actually connected to, on every redirect
hop, must be a public unicast address unless ``network.allow_private`` is set.
"""

from aggregator.net.addresses import blocked_reason
from aggregator.net.policy import NetworkPolicy

__all__ = ["NetworkPolicy", "blocked_reason"]
