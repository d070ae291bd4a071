"""Fetching the article page behind a summary-only feed entry."""

from __future__ import annotations

import re

from aggregator.errors import FetchError
from aggregator.poll.http import Fetcher

HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def fetch_page(fetcher: Fetcher, url: str) -> tuple[str, str]:
    """GET an article page; return (final URL, HTML). ``FetchError`` unless it is an HTML page."""
    fetched = fetcher.get(url, {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"})
    if fetched.status != 200:
        raise FetchError(url, f"HTTP {fetched.status}")
    content_type = fetched.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media and media not in HTML_TYPES:
        raise FetchError(url, f"not an HTML page ({media})")
    if not fetched.body.strip():
        raise FetchError(url, "empty page")
    return fetched.url, decode_html(fetched.body, content_type)


def decode_html(body: bytes, content_type: str) -> str:
    """Decode a page by its header's charset, else its ``<meta charset>``, else UTF-8."""
    for candidate in (_header_charset(content_type), _meta_charset(body), "utf-8"):
        if candidate:
            try:
                return body.decode(candidate, errors="replace")
            except LookupError:
                continue
    return body.decode("utf-8", errors="replace")


def _header_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip(' "'):
            return value.strip(' "')
    return None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match[1].decode("ascii", "replace") if match else None
