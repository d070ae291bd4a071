"""Parsing a fetched feed: bytes and response headers in, one ``ParsedFeed`` out.

RSS and Atom are feedparser's job; it is handed a byte stream and the response headers, never a
URL or a path (a string that looks like either makes feedparser fetch or open it). JSON Feed,
which feedparser 6 does not read, is ours (``jsonfeed``). Whatever the format, entries come out
as ``FeedEntry`` with absolute links (resolved against the final URL) and aware UTC dates.

Something that is not a feed at all (an empty body, an HTML page such as a bot challenge or an
error page, a JSON error) raises ``FeedParseError``: a fetch error for the source.
"""

from __future__ import annotations

import calendar
import html
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from aggregator.poll.http import feed_ttl
from aggregator.poll.jsonfeed import looks_like_json, parse_json_feed
from aggregator.poll.parsed import (
    FeedEntry,
    FeedParseError,
    ParsedFeed,
    absolute_url,
    plain_text,
)

# feedparser flags these even on perfectly usable feeds (a charset the headers and the XML
# declaration disagree on, an odd Content-Type); any other problem with no entries is fatal.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Read ``body`` (fetched from final URL ``url`` with response ``headers``) as a feed."""
    if not body.strip():
        raise FeedParseError(url, "empty body where a feed was expected")
    if looks_like_json(body):
        return parse_json_feed(body, url)
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["content-location"] = url
    lowered.pop("content-encoding", None)  # the body is already decoded
    result = feedparser.parse(io.BytesIO(body), response_headers=lowered)
    if not result.get("version"):
        raise FeedParseError(url, describe_non_feed(body, lowered.get("content-type")))
    # Atom entries without an author inherit the feed's (RFC 4287, 4.2.1).
    inherited = (
        plain_text(result.feed.get("author")) if str(result.version).startswith("atom") else None
    )
    entries = tuple(_entry(raw, url, inherited) for raw in result.entries)
    problem = _problem(result)
    if problem and not entries and not _harmless(result):
        raise FeedParseError(url, f"malformed feed: {problem}")
    feed = result.feed
    return ParsedFeed(
        format=str(result.version),
        url=url,
        title=plain_text(feed.get("title")),
        link=absolute_url(feed.get("link"), url),
        ttl=feed_ttl(feed.get("ttl")) if feed.get("ttl") is not None else None,
        entries=entries,
        problem=problem,
    )


def describe_non_feed(body: bytes, content_type: str | None) -> str:
    """A one-line reason why ``body`` is not a feed, naming what it looks like instead."""
    head = body[:65536]
    if _HTML_START.match(head) or (content_type or "").lower().startswith("text/html"):
        title = _TITLE.search(head)
        name = plain_text(title[1].decode("utf-8", "replace")) if title else None
        return "an HTML page, not a feed" + (f" (title: {name!r})" if name else "")
    return "not a feed: neither RSS, Atom nor JSON Feed"


def _entry(raw: Any, base: str, default_author: str | None = None) -> FeedEntry:
    published = _date(raw.get("published_parsed"))
    # Not raw.get: feedparser maps a missing updated_parsed to published_parsed, with a warning.
    updated = _date(dict.get(raw, "updated_parsed"))
    return FeedEntry(
        link=_link(raw, base),
        guid=_text(raw.get("id")),
        title=plain_text(raw.get("title")),
        author=plain_text(raw.get("author")) or default_author,
        summary=_text(raw.get("summary")),
        content=_content(raw.get("content")),
        published=published or updated,
        updated=updated if published and updated != published else None,
        tags=tuple(dict.fromkeys(filter(None, (_tag(tag) for tag in raw.get("tags") or ())))),
    )


def _link(raw: Any, base: str) -> str | None:
    link = raw.get("link")
    if not link:
        for candidate in raw.get("links") or ():
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    if not link and raw.get("guidislink"):
        link = raw.get("id")
    return absolute_url(link, base)


def _content(parts: Any) -> str | None:
    """The longest HTML (or plain text, escaped) body among an entry's ``content`` elements."""
    bodies = []
    for part in parts or ():
        value = part.get("value") or ""
        if not value.strip():
            continue
        if "html" not in (part.get("type") or "text/html"):
            value = "".join(f"<p>{html.escape(line)}</p>" for line in value.split("\n\n"))
        bodies.append(value)
    return max(bodies, key=len, default=None)


def _tag(tag: Any) -> str | None:
    return plain_text(tag.get("label") or tag.get("term"))


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _date(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _problem(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None:
        return "malformed"
    return str(exc).strip() or type(exc).__name__


def _harmless(result: Any) -> bool:
    return isinstance(result.get("bozo_exception"), _HARMLESS)
