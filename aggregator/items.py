"""The one item type that every front end hands to the ingest path.

Feed pollers make one per feed entry, spiders one per article page. It carries what was fetched
and what the source itself claimed about it; extraction, normalisation and dedup happen later, in
the ingest core, the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Origin(StrEnum):
    """How the item reached us; decides which metadata can be trusted."""

    FEED = "feed"
    CRAWL = "crawl"
    API = "api"


@dataclass(frozen=True, slots=True)
class FetchedItem:
    """A page or feed entry as fetched, before extraction.

    ``url`` is the final URL after redirects. ``html`` is a whole page as fetched; ``content`` is
    an article body a feed or API delivered (``content:encoded``, WordPress ``content.rendered``).
    A feed entry with only a summary has neither until its page is fetched. The ``feed_*`` fields
    are what a feed or API said; for feed and API items they win over what extraction finds.
    """

    source: str
    url: str
    origin: Origin
    fetched_at: datetime
    html: str | None = None
    content: str | None = None
    requested_url: str | None = None
    guid: str | None = None
    feed_title: str | None = None
    feed_author: str | None = None
    feed_summary: str | None = None
    feed_published: datetime | None = None
    feed_updated: datetime | None = None
    feed_tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
