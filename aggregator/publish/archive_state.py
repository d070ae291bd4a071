"""What the last build's archive held, kept in its manifest so the next build plans only changes.

Per published article: a short hash of its change mark, its date as the feeds order it
(``published_at``), its date as its month files it (``published_at``, else first seen) and the
source and tag listings it is in. Per listing: its heading and its ids, newest first. And the
highest ``article_changes.seq`` the build had seen (``storage.changes``), and the signature of
what every page shares (``archive.archive_signature``): when that differs, every page is
planned again. Dates are whole microseconds since 1970 (UTC), which JSON keeps exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
FORMAT = 1
# The archive's files (``publish.archive``): its folders, and the OPML list beside them.
ARCHIVE_FILES = ("articles/", "sources/", "tags/", "archive/", "sources.opml")


@dataclass(frozen=True, slots=True)
class Listed:
    """A published article as the archive shows it."""

    mark: str  # ``mark_digest`` of its change mark
    published: int | None  # published_at (µs), the order of its source and tag listings
    dated: int  # published_at, else first seen (µs): its month, and the order in it
    folders: tuple[str, ...]  # its source and tag listings (its month's is ``month_folder``)

    def every_folder(self) -> tuple[str, ...]:
        return (*self.folders, month_folder(self.dated))


@dataclass
class Shelf:
    """A listing: its heading and its ids, newest first."""

    heading: str
    ids: list[int]


@dataclass
class ArchiveState:
    mark: int  # the highest ``article_changes.seq`` the build had seen
    shared: str
    articles: dict[int, Listed] = field(default_factory=dict)
    listings: dict[str, Shelf] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        folders = sorted(self.listings)
        place = {folder: number for number, folder in enumerate(folders)}
        return {
            "format": FORMAT,
            "mark": self.mark,
            "shared": self.shared,
            "folders": folders,
            "headings": [self.listings[folder].heading for folder in folders],
            "listings": [self.listings[folder].ids for folder in folders],
            "articles": [
                [
                    ident,
                    listed.mark,
                    listed.published,
                    listed.dated,
                    [place[folder] for folder in listed.folders],
                ]
                for ident, listed in self.articles.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> ArchiveState | None:
        """The state ``as_json`` wrote; None for anything else (then everything is planned)."""
        try:
            if data.get("format") != FORMAT:
                return None
            folders = [str(folder) for folder in data["folders"]]
            listings = {
                folder: Shelf(str(heading), [int(ident) for ident in ids])
                for folder, heading, ids in zip(
                    folders, data["headings"], data["listings"], strict=True
                )
            }
            articles = {
                int(ident): Listed(
                    str(mark),
                    None if published is None else int(published),
                    int(dated),
                    tuple(folders[number] for number in places),
                )
                for ident, mark, published, dated, places in data["articles"]
            }
            return cls(int(data["mark"]), str(data["shared"]), articles, listings)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None


def is_archive_file(path: str) -> bool:
    return path.startswith(ARCHIVE_FILES)


def mark_digest(mark: str | None) -> str:
    """A change mark, short: it goes into the manifest once per article."""
    return hashlib.sha256((mark or "").encode("utf-8")).hexdigest()[:16]


def microseconds(moment: datetime) -> int:
    return (moment.astimezone(UTC) - _EPOCH) // _MICROSECOND


def month_folder(dated: int) -> str:
    return f"archive/{month_of(dated)}"


def month_of(dated: int) -> str:
    return (_EPOCH + dated * _MICROSECOND).strftime("%Y/%m")


def order_key(folder: str, ident: int, listed: Listed) -> tuple[bool, int, int]:
    """Sorted descending, a listing's order: a month's by date; a source's or tag's as its
    feed walks, by ``published_at`` (undated last), then by id."""
    if folder.startswith("archive/"):
        return True, listed.dated, ident
    return listed.published is not None, listed.published or 0, ident
