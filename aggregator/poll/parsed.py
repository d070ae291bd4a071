"""What parsing a feed produces, whatever its format: ``ParsedFeed`` of ``FeedEntry``."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

from aggregator.errors import FetchError

# Elements whose content is not text a reader sees: dropped whole, not just their tags.
_HIDDEN = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# C0 controls but tab and line ends, DEL and C1: never text, and NUL breaks PostgreSQL. Lone
# surrogates (a JSON Feed may escape one, ``"\\ud800"``) cannot be stored at all.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"\s+")


class FeedParseError(FetchError):
    """The body fetched from a feed URL is not a feed we can read."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry. Links are absolute, dates aware UTC; ``summary`` and ``content`` are HTML."""

    link: str | None
    guid: str | None
    title: str | None = None
    author: str | None = None
    summary: str | None = None
    content: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    tags: tuple[str, ...] = ()
    date_problem: str | None = None  # why a date the entry gives could not be used


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed as read: its format, what it says about itself, and its entries in feed order."""

    format: str  # feedparser's version name (rss20, atom10 ...), or json10 / json11
    url: str  # the final URL it was fetched from
    title: str | None
    link: str | None  # the site's home page, if the feed names it
    ttl: timedelta | None
    entries: tuple[FeedEntry, ...]
    problem: str | None = None  # what the parser had to recover from, if anything
    warnings: tuple[str, ...] = ()  # what was wrong with the feed but could be worked around
    listed: int | None = None  # entries the document lists, when fewer were read (see cut.py)


def plain_text(value: object) -> str | None:
    """Tags stripped, entities decoded, white space collapsed; None when nothing is left."""
    if not isinstance(value, str):
        return None
    stripped = _TAG.sub(" ", _HIDDEN.sub(" ", value)) if "<" in value else value
    text = _SPACE.sub(" ", without_controls(html.unescape(stripped))).strip()
    return text or None


def without_controls(text: str) -> str:
    """``text`` without control characters (tab and line ends stay)."""
    return _CONTROLS.sub("", text)


def absolute_url(link: object, base: str) -> str | None:
    """``link`` resolved against ``base``; None for an empty or unusable link."""
    if not isinstance(link, str) or not link.strip() or _SURROGATE.search(link):
        return None
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return None
