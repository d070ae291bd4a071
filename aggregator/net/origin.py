"""Schemes and origins: the URL facts every other outbound rule is built on. Pure, no I/O.

An origin is (scheme, host, port) with the port filled in for http and https, so
``http://h:80/`` and ``http://h/`` are one origin, and ``https://h/`` another.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def origin(url: str) -> Origin:
    """(scheme, host, port) of ``url``, lower case, the port filled in for http and https.

    A port that is no number leaves the port ``None``: such a URL is refused elsewhere.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs share scheme, host and port (https and http never do)."""
    return origin(first) == origin(second)


def scheme_allowed(scheme: str) -> bool:
    """Whether a URL with ``scheme`` may be fetched at all: only http and https."""
    return scheme.lower() in ALLOWED_SCHEMES
