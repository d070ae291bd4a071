"""From parsed feed entries to ``FetchedItem``: keys, duplicates, and what still needs fetching.

Pure functions. An entry keeps its GUID only when the GUID is unique in the feed; otherwise the
link is its key (the ingest core dedups by URL). An entry with no link at all is skipped, with
the reason. Entries whose body is only a teaser (a summary, or a ``content`` that ends in
"[…]" / "Continue reading") need their page fetched; the others carry their article.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from aggregator.items import FetchedItem, Origin
from aggregator.poll.parsed import FeedEntry, ParsedFeed, plain_text

# A body shorter than this that ends like a teaser is a teaser, not an article.
TEASER_WORDS = 150
_TEASER_END = re.compile(
    r"(\[\s*(…|\.\.\.|&hellip;)\s*\]|…|\.\.\.|continue reading\W*|read more\W*|"
    r"read the rest\W*|appeared first on .{0,200})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """An entry ready to become an item: its link, its key, and whether its body is whole."""

    entry: FeedEntry
    link: str
    guid: str | None
    has_content: bool


def plan_entries(
    feed: ParsedFeed, min_words: int = 0
) -> tuple[list[PlannedEntry], list[tuple[str, str]]]:
    """Key every entry; return the usable ones in feed order and the skipped ones with why.

    Content under ``min_words`` words (what extraction would refuse as too short) does not count
    as the article: such entries get their page fetched.
    """
    guid_counts = Counter(entry.guid for entry in feed.entries if entry.guid)
    planned: list[PlannedEntry] = []
    skipped: list[tuple[str, str]] = []
    seen_links: set[str] = set()
    for position, entry in enumerate(feed.entries):
        if not entry.link or not entry.link.startswith(("http://", "https://")):
            label = entry.guid or entry.title or f"entry {position + 1}"
            skipped.append((f"{feed.url}#{label}", "feed entry without a usable link"))
            continue
        if entry.link in seen_links:
            skipped.append((entry.link, "the same link appears earlier in the feed"))
            continue
        seen_links.add(entry.link)
        unique_guid = entry.guid if entry.guid and guid_counts[entry.guid] == 1 else None
        whole = has_full_content(entry, min_words)
        planned.append(PlannedEntry(entry, entry.link, unique_guid, whole))
    return planned, skipped


def has_full_content(entry: FeedEntry, min_words: int = 0) -> bool:
    """Does the entry carry its article, not just a teaser of it?"""
    if not entry.content:
        return False
    return not is_teaser(entry.content, min_words)


def is_teaser(markup: str, min_words: int = 0) -> bool:
    """Too short to be stored, or short and ending like a teaser ("[…]", "Continue reading")."""
    text = plain_text(markup) or ""
    words = len(text.split())
    if words == 0 or words < min_words:
        return True
    return words < TEASER_WORDS and _TEASER_END.search(text) is not None


def to_item(
    planned: PlannedEntry,
    source: str,
    fetched_at: datetime,
    *,
    html: str | None = None,
    page_url: str | None = None,
) -> FetchedItem:
    """The item for an entry: its page (``html`` fetched from ``page_url``) or its content."""
    entry = planned.entry
    return FetchedItem(
        source=source,
        url=page_url or planned.link,
        origin=Origin.FEED,
        fetched_at=fetched_at,
        html=html,
        content=None if html is not None else entry.content,
        requested_url=planned.link if page_url and page_url != planned.link else None,
        guid=planned.guid,
        feed_title=entry.title,
        feed_author=entry.author,
        feed_summary=plain_text(entry.summary),
        feed_published=entry.published,
        feed_updated=entry.updated,
        feed_tags=entry.tags,
    )
