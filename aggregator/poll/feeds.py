"""Parsing a fetched feed: bytes and response headers in, one ``ParsedFeed`` out.

RSS and Atom are feedparser's job; it is handed a byte stream and the response headers, never a
URL or a path (a string that looks like either makes feedparser fetch or open it). JSON Feed,
which feedparser 6 does not read, is ours (``jsonfeed``). Whatever the format, entries come out
as ``FeedEntry`` with absolute links (resolved against the final URL) and aware UTC dates.

Before feedparser sees the bytes they are made honest and harmless: re-encoded as UTF-8 where
the bytes contradict the declared charset (``charset``), and stripped of entity declarations
(``aggregator.xmlsafe``). What that fixed becomes the feed's warnings, and so its flags.

A feed is read up to ``max_entries`` entries: the document is cut after them before feedparser
sees it (``cut``), so that the parse costs what is kept, whatever the document's size.

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

from aggregator.extract.limits import markup_problem
from aggregator.normalize import resolve_links
from aggregator.poll.charset import FeedBytes, as_utf8
from aggregator.poll.cut import first_entries
from aggregator.poll.http import feed_ttl
from aggregator.poll.jsonfeed import looks_like_json, parse_json_feed
from aggregator.poll.parsed import (
    FeedEntry,
    FeedParseError,
    ParsedFeed,
    absolute_url,
    plain_text,
    without_controls,
)
from aggregator.xmlsafe import UnsafeEntitiesError, without_entity_declarations

_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
# A link or image source that is not absolute (srcset: any, its candidates are a list).
_RELATIVE_LINK = re.compile(
    r"""\b(?:(?:href|src)\s*=\s*["']?\s*(?!(?:https?|mailto):|#)|srcset\s*=)""", re.IGNORECASE
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_ISO_DATE = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<offset>[Zz]|[+-]\d\d:?\d\d)?\s*$"
)


def parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, max_entries: int | None = None
) -> ParsedFeed:
    """Read ``body`` (fetched from final URL ``url`` with response ``headers``) as a feed, up to
    its first ``max_entries`` entries (all of them when None); ``listed`` says how many it has
    when it has more."""
    if not body.strip():
        raise FeedParseError(url, "empty body where a feed was expected")
    if looks_like_json(body):
        return parse_json_feed(body, url, max_entries)
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["content-location"] = url
    lowered.pop("content-encoding", None)  # the body is already decoded
    prepared = _prepare(body, lowered, url)
    cut = first_entries(prepared.body, max_entries) if max_entries is not None else None
    # feedparser's own HTML sanitiser is off: every body is extracted and cleaned by nh3 at
    # ingest, and titles and authors become plain text, so its slower pass would be a second one.
    # Its resolving of relative links is off too: it holds kilobytes per attribute (240 MB for one
    # entry of 100,000), so ``_content`` resolves them, against the same base, within the limits.
    import feedparser  # here: a poll whose feeds all answer 304 never parses one

    result = feedparser.parse(
        io.BytesIO(cut.body if cut else prepared.body),
        response_headers=prepared.headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
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
        warnings=prepared.notes,
        listed=cut.listed if cut else None,
    )


def _prepare(body: bytes, headers: dict[str, str], url: str) -> FeedBytes:
    """The bytes feedparser should read: UTF-8 by the evidence, no entity declarations.

    Its notes are feed flags (``aggregator.poll.flags``).
    """
    prepared = as_utf8(body, headers, url)
    notes = tuple(f"encoding: {note}" for note in prepared.notes)
    try:
        stripped = without_entity_declarations(prepared.body)
    except UnsafeEntitiesError:
        raise FeedParseError(url, "declares XML entities where they cannot be removed") from None
    if stripped is None:
        return FeedBytes(prepared.body, prepared.headers, notes)
    notes += ("xml_entities: the feed declares XML entities; they were not expanded",)
    return FeedBytes(stripped, prepared.headers, notes)


def describe_non_feed(body: bytes, content_type: str | None) -> str:
    """A one-line reason why ``body`` is not a feed, naming what it looks like instead."""
    head = body[:65536]
    if _HTML_START.match(head) or (content_type or "").lower().startswith("text/html"):
        title = _TITLE.search(head)
        name = plain_text(title[1].decode("utf-8", "replace")) if title else None
        return "an HTML page, not a feed" + (f" (title: {name!r})" if name else "")
    return "not a feed: neither RSS, Atom nor JSON Feed"


def _entry(raw: Any, base: str, default_author: str | None = None) -> FeedEntry:
    # dict.get, not raw.get: feedparser maps a missing ``updated`` to ``published`` (and back).
    published, published_problem = _checked_date(raw, "published")
    updated, updated_problem = _checked_date(raw, "updated")
    return FeedEntry(
        link=_link(raw, base),
        guid=_text(raw.get("id")),
        title=plain_text(raw.get("title")),
        author=plain_text(raw.get("author")) or default_author,
        summary=_text(raw.get("summary")),
        content=_content(raw.get("content"), base),
        published=published or updated,
        updated=updated if published and updated != published else None,
        tags=tuple(dict.fromkeys(filter(None, (_tag(tag) for tag in raw.get("tags") or ())))),
        date_problem=None if published or updated else published_problem or updated_problem,
    )


def _checked_date(raw: Any, key: str) -> tuple[datetime | None, str | None]:
    """The entry's ``published`` or ``updated`` date, or why the text it gives is unusable.

    feedparser rolls impossible ISO dates over (February 30th becomes March 2nd, 25:61 the
    next morning); those are refused here, like the ones it could not read at all.
    """
    text = dict.get(raw, key)
    if not isinstance(text, str) or not text.strip():
        return None, None
    moment = _date(dict.get(raw, f"{key}_parsed"))
    if moment is None:
        return None, f"unreadable date {text.strip()[:80]!r}"
    if impossible_date(text):
        return None, f"impossible date {text.strip()[:80]!r}"
    return moment, None


def impossible_date(text: str) -> bool:
    """Does an ISO 8601 style date name a day, hour or offset that does not exist?"""
    match = _ISO_DATE.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # 60: a leap second
    except ValueError:
        return True
    offset = match["offset"]
    return (
        offset is not None and len(offset) > 1 and (int(offset[1:3]) > 14 or int(offset[-2:]) > 59)
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


def _content(parts: Any, base: str) -> str | None:
    """The longest HTML (or plain text, escaped) body among an entry's ``content`` elements,
    its links resolved against the element's base (``xml:base``, else the feed's URL)."""
    bodies = []
    for part in parts or ():
        value = part.get("value") or ""
        if not value.strip():
            continue
        if "html" not in (part.get("type") or "text/html"):
            value = "".join(f"<p>{html.escape(line)}</p>" for line in value.split("\n\n"))
        elif _RELATIVE_LINK.search(value) and markup_problem(value) is None:
            value = resolve_links(value, part.get("base") or base)  # else extraction refuses it
        bodies.append(without_controls(value))
    return max(bodies, key=len, default=None)


def _tag(tag: Any) -> str | None:
    return plain_text(tag.get("label") or tag.get("term"))


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return without_controls(value).strip() or None


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
    """feedparser flags these even on perfectly usable feeds (a charset the headers and the XML
    declaration disagree on, an odd Content-Type); any other problem with no entries is fatal."""
    import feedparser

    harmless = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    return isinstance(result.get("bozo_exception"), harmless)
