"""What the last build's archive held, kept in its manifests so the next build plans only changes.

The head (``ArchiveHead``, in the small manifest every build reads): the highest
``article_changes.seq`` the build had seen (``storage.changes``), the signature of what every
page shares (``archive.archive_signature``: when that differs, every page is planned again), and
each listing's heading and size, what the lists show. The rest (``ArchiveState``, in the archive
manifest, read only when articles changed): per published article a short hash of its change
mark, its date as the feeds order it (``published_at``), its date as its month files it
(``published_at``, else first seen) and the source and tag listings it is in; per listing its
ids, newest first. Dates are whole microseconds since 1970 (UTC), which JSON keeps exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
FORMAT = 1
# The archive's folders (``publish.archive``), and its lists, which every build plans.
FOLDERS = ("articles/", "sources/", "tags/", "archive/")
LISTS = ("sources/index.html", "tags/index.html", "archive/index.html", "sources.opml")


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


@dataclass(frozen=True)
class ArchiveHead:
    """What every build reads of the last one's archive (the small manifest): the highest
    ``article_changes.seq`` it had seen, the shared signature, each listing's heading and
    size (what the lists show), and the token of the archive manifest that holds the rest."""

    mark: int
    shared: str
    token: str
    listings: dict[str, tuple[str, int]]

    def with_token(self, token: str) -> ArchiveHead:
        return ArchiveHead(self.mark, self.shared, token, self.listings)

    def with_mark(self, mark: int) -> ArchiveHead:
        return ArchiveHead(mark, self.shared, self.token, self.listings)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "mark": self.mark,
            "shared": self.shared,
            "token": self.token,
            "listings": {folder: list(pair) for folder, pair in self.listings.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> ArchiveHead | None:
        try:
            if data.get("format") != FORMAT:
                return None
            listings = {
                str(folder): (str(heading), int(count))
                for folder, (heading, count) in data["listings"].items()
            }
            return cls(int(data["mark"]), str(data["shared"]), str(data["token"]), listings)
        except (AttributeError, KeyError, TypeError, ValueError):
            return None


@dataclass
class ArchiveState:
    mark: int  # the highest ``article_changes.seq`` the build had seen
    shared: str
    articles: dict[int, Listed] = field(default_factory=dict)
    listings: dict[str, Shelf] = field(default_factory=dict)

    def head(self, token: str = "") -> ArchiveHead:
        sizes = {folder: (shelf.heading, len(shelf.ids)) for folder, shelf in self.listings.items()}
        return ArchiveHead(self.mark, self.shared, token, dict(sorted(sizes.items())))

    def as_json(self) -> dict[str, Any]:
        folders = sorted(self.listings)
        place = {folder: number for number, folder in enumerate(folders)}
        return {
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
    def from_json(cls, data: Any, head: ArchiveHead) -> ArchiveState | None:
        """The state ``as_json`` wrote, under ``head``; None for anything else (then
        everything is planned)."""
        try:
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
            return cls(head.mark, head.shared, articles, listings)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None


def is_archive_page(path: str) -> bool:
    """An article's page or a listing's (the archive manifest's), not one of the lists."""
    return path.startswith(FOLDERS) and path not in LISTS


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
