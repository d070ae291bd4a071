"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), which feedparser 6 does not read.

Lenient where the spec's intent is clear (a numeric ``id``, a missing ``version`` on a document
that has ``items``), strict where guessing would store junk: a JSON document without ``items``
(an API's error answer, say) is not a feed.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from aggregator.dates import parse_date
from aggregator.extract.limits import markup_problem
from aggregator.normalize import resolve_links
from aggregator.poll.parsed import (
    FeedEntry,
    FeedParseError,
    ParsedFeed,
    absolute_url,
    plain_text,
    without_controls,
)

VERSIONS = {
    "https://jsonfeed.org/version/1": "json10",
    "https://jsonfeed.org/version/1.1": "json11",
}
_BOM = b"\xef\xbb\xbf"
MAX_DIGITS = 100  # in an integer; Python's own limit (4,300) fails with advice for programmers


def looks_like_json(body: bytes) -> bool:
    start = body.removeprefix(_BOM).lstrip()[:1]
    return start in (b"{", b"[")


def parse_json_feed(body: bytes, url: str, max_entries: int | None = None) -> ParsedFeed:
    """Read a JSON Feed, up to its first ``max_entries`` items; ``FeedParseError`` for broken
    JSON or JSON that is not a feed."""
    try:
        document = json.loads(body.removeprefix(_BOM), parse_int=_integer)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedParseError(url, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise FeedParseError(url, "malformed JSON: nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedParseError(url, _describe_json(document))
    items = [item for item in document["items"] if isinstance(item, dict)]
    kept = items if max_entries is None else items[:max_entries]
    version = _string(document.get("version")) or ""
    entries = tuple(_entry(item, url) for item in kept)
    return ParsedFeed(
        format=VERSIONS.get(version.rstrip("/"), "json"),
        url=url,
        title=plain_text(document.get("title")),
        link=absolute_url(document.get("home_page_url"), url),
        ttl=None,
        entries=entries,
        problem=None if version.rstrip("/") in VERSIONS else f"unknown version {version[:80]!r}",
        listed=len(items) if len(items) > len(kept) else None,
    )


def _describe_json(document: object) -> str:
    if isinstance(document, dict):
        for key in ("message", "error", "code"):
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                return f"a JSON document, not a feed ({key}: {value.strip()[:200]!r})"
    return "a JSON document, not a feed (it has no items)"


def _entry(item: dict[str, Any], base: str) -> FeedEntry:
    link = absolute_url(item.get("url"), base) or absolute_url(item.get("external_url"), base)
    guid = item.get("id")
    published, published_problem = _date(item.get("date_published"))
    updated, updated_problem = _date(item.get("date_modified"))
    return FeedEntry(
        link=link,
        guid=_guid(guid),
        title=plain_text(item.get("title")),
        author=_author(item),
        summary=_html_or_text(None, item.get("summary")),
        content=_content(item, link or base),
        published=published or updated,
        updated=updated if published and updated != published else None,
        tags=tuple(dict.fromkeys(filter(None, (plain_text(tag) for tag in _list(item, "tags"))))),
        date_problem=None if published or updated else published_problem or updated_problem,
    )


def _guid(value: object) -> str | None:
    """JSON Feed 1.0 allowed numeric ids; 1.1 wants strings. Either way, a string here."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return without_controls(str(value)).strip() or None


def _content(item: dict[str, Any], base: str) -> str | None:
    """The item's body, links resolved; left as it is when it is past the extraction limits
    (resolving parses it), for extraction to refuse with the reason."""
    body = _html_or_text(item.get("content_html"), item.get("content_text"))
    if not body or markup_problem(body):
        return body
    return resolve_links(body, base)


def _html_or_text(markup: object, text: object) -> str | None:
    if isinstance(markup, str) and markup.strip():
        return without_controls(markup)
    if isinstance(text, str) and text.strip():
        paragraphs = without_controls(text).split("\n\n")
        return "".join(f"<p>{html.escape(part.strip())}</p>" for part in paragraphs)
    return None


def _author(item: dict[str, Any]) -> str | None:
    people = _list(item, "authors") or [item.get("author")]
    names = [plain_text(person.get("name")) for person in people if isinstance(person, dict)]
    return ", ".join(name for name in names if name) or None


def _list(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    return value if isinstance(value, list) else []


def _date(value: object) -> tuple[datetime | None, str | None]:
    """An RFC 3339 date as aware UTC (naive dates are taken as UTC), or why it is unusable."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"unreadable date {value!r:.80}"
    if not value.strip():
        return None, None
    moment = parse_date(value)
    if moment is None:
        return None, f"unreadable or impossible date {value.strip()[:80]!r}"
    return moment, None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text.lstrip('-')):,} digits")
    return int(text)
