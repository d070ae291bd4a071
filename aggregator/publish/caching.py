"""HTTP decisions for a rendered response: validators, 304s, gzip, and the headers that go out.

Pure functions of the rendered body and the request's headers, tested without a server.
The ETag is a hash of the body, so it changes exactly when the bytes do; the gzipped variant
has its own ETag (``"...-gz"``), and either one in If-None-Match means "not modified".
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime

from aggregator.dates import parse_date
from aggregator.publish.feed import rfc822

GZIP_MIN_BYTES = 256
# The page loads only its own stylesheet; nothing may frame it or run in it, and its only form
# (the served page's search box) goes to this server.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Feeds, JSON and text opened in a browser: nothing at all.
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


@dataclass(frozen=True)
class Representation:
    """A rendered response body and what is known about it."""

    body: bytes
    content_type: str
    cache_control: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def conditional_response(
    representation: Representation,
    *,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    accept_encoding: str | None = None,
) -> Response:
    """200 with the (maybe gzipped) body, or 304 when the client's copy is current."""
    digest = hashlib.sha256(representation.body).hexdigest()[:32]
    compress = accepts_gzip(accept_encoding) and len(representation.body) >= GZIP_MIN_BYTES
    etag = f'"{digest}-gz"' if compress else f'"{digest}"'
    headers = [
        ("ETag", etag),
        ("Cache-Control", representation.cache_control),
        ("Vary", "Accept-Encoding"),
        *security_headers(representation.content_type),
    ]
    if representation.last_modified is not None:
        headers.append(("Last-Modified", rfc822(representation.last_modified)))
    if _not_modified(digest, representation.last_modified, if_none_match, if_modified_since):
        return Response(304, headers, b"")
    body = representation.body
    if compress:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    headers += [("Content-Type", representation.content_type), ("Content-Length", str(len(body)))]
    return Response(200, headers, body)


def plain_response(status: int, message: str, cache_control: str = "no-store") -> Response:
    """A short text answer (errors, 404s); no validators."""
    body = (message.rstrip("\n") + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", cache_control),
        *security_headers("text/plain"),
    ]
    return Response(status, headers, body)


def security_headers(content_type: str) -> list[tuple[str, str]]:
    policy = PAGE_POLICY if content_type.startswith("text/html") else DOCUMENT_POLICY
    return [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client takes gzip (``gzip``, ``x-gzip`` or ``*``, with q above 0)."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, parameters = item.strip().partition(";")
        weights[coding.strip().lower()] = _quality(parameters)
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _not_modified(
    digest: str,
    last_modified: datetime | None,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> bool:
    # RFC 9110 13.1.3: If-None-Match, when present, decides alone.
    if if_none_match is not None:
        return _matches(digest, if_none_match)
    if if_modified_since is None or last_modified is None:
        return False
    since = parse_date(if_modified_since)
    if since is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def _matches(digest: str, if_none_match: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    for tag in if_none_match.split(","):
        opaque = tag.strip().removeprefix("W/").strip('"')
        if opaque in (digest, f"{digest}-gz"):
            return True
    return False
