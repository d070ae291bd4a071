"""A feed to render: its entries, its names and where it lives; and the date forms formats need.

One ``Feed`` per selection and format: the combined feed, a source's or a tag's. ``path`` is
where the document lives under the output folder (``feeds/tag/coops.atom``); links to other
documents are absolute under ``base_url`` when one is configured, else relative to ``path``,
so the written files work from any address.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.publish.entries import Entry, newest

INDEX = "index.html"
STYLESHEET = "style.css"
COMBINED = "feed"
FORMATS = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
# The date part of feed ids (tag:DOMAIN,DATE:feed/...): fixed, so feed ids never change.
FEED_ID_DATE = "2026"


@dataclass(frozen=True)
class Selection:
    """Which published articles: all, one source's (by name), one tag's (by slug), or both."""

    source: str | None = None
    tag: str | None = None

    def feed_id(self, id_domain: str) -> str:
        parts = ["feed"]
        if self.source:
            parts += ["source", self.source]
        if self.tag:
            parts += ["tag", self.tag]
        return f"tag:{id_domain},{FEED_ID_DATE}:{'/'.join(parts)}"

    def path(self, format_name: str = "atom") -> str:
        """Where this selection's feed is written; source-and-tag feeds are only served."""
        if self.source and not self.tag:
            return f"feeds/source/{self.source}.{format_name}"
        if self.tag and not self.source:
            return f"feeds/tag/{self.tag}.{format_name}"
        return f"{COMBINED}.{format_name}"


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    description: str
    path: str
    entries: tuple[Entry, ...]
    base_url: str | None = None
    # Served with a query string (?limit=10&source=x): it belongs in the self link.
    query: str = ""

    def link(self, target: str) -> str:
        """A link from this feed to ``target`` (a path under the output folder)."""
        if self.base_url:
            return self.base_url + target
        return posixpath.relpath(target, posixpath.dirname(self.path) or ".")

    @property
    def self_url(self) -> str:
        return self.link(self.path) + (f"?{self.query}" if self.query else "")

    @property
    def home_url(self) -> str:
        return self.base_url or self.link(INDEX)

    @property
    def updated(self) -> datetime:
        return newest(self.entries)

    @property
    def changed(self) -> datetime:
        return newest(self.entries, "changed")


def rfc3339(moment: datetime) -> str:
    """``2026-11-30T12:00:00Z``: Atom and JSON Feed dates."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:19] + "Z"


def rfc822(moment: datetime) -> str:
    """``Mon, 30 Nov 2026 12:00:00 GMT``: RSS dates and HTTP headers.

    What ``email.utils.format_datetime(..., usegmt=True)`` says, in a third of its time (a
    feed has one per entry); English names whatever the locale, as HTTP requires.
    """
    utc = moment.astimezone(UTC)
    day, month = _DAYS[utc.weekday()], _MONTHS[utc.month - 1]
    clock = f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    return f"{day}, {utc.day:02d} {month} {utc.year:04d} {clock} GMT"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
