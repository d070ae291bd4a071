"""What an answer to a robots.txt request means, by RFC 9309 (2.3.1): a pure decision.

A 2xx body is the rules. A 4xx means there is no robots.txt: everything is allowed. A 5xx or a
429 (and, for the caller, a robots.txt that cannot be fetched at all) means the site is
unreachable for now, which counts as complete disallow.
"""

from __future__ import annotations

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
ALLOW_ALL = b""


def robots_body(status: int, body: bytes) -> bytes:
    """The robots.txt to obey for an answer with ``status`` and ``body``."""
    if status == 429 or status >= 500:
        return DISALLOW_ALL
    if status >= 400:
        return ALLOW_ALL
    return body
