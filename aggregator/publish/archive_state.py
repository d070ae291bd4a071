"""What the last build's archive held, kept in its manifests so the next build plans only changes.

The head (``ArchiveHead``, in the small manifest every build reads): the highest
``article_changes.seq`` the build had seen (``storage.changes``), the signature of what every
page shares (``archive_outputs.archive_signature``: when that differs, every page is planned
again), and each listing's heading and size, what the lists show. The rest (``ArchiveState``, in
the archive manifest's shards, each read only when the plan asks for what it keeps): per published
article a short hash of its change mark, its date as the feeds order it (``published_at``), its
date as its month files it (``published_at``, else first seen) and the source and tag listings
it is in; per listing its ids, newest first. Dates are whole microseconds since 1970 (UTC), which
JSON keeps exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
FORMAT = 2
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


class StaleShardError(Exception):
    """A shard of the archive's manifest is not the one its index names (a build stopped
    while writing them, or a damaged file): the archive is then planned whole."""


# Reads a shard of the last build's manifest by its key; raises ``StaleShardError``.
ShardReader = Callable[[str], dict[str, Any]]
ARTICLES_PER_SHARD = 512


def shard_of(path: str) -> str:
    """The shard of the archive's manifest that keeps a page: an article's by its id, a
    listing page's by its listing's folder."""
    if path.startswith("articles/"):
        stem = path.removeprefix("articles/").removesuffix(".html")
        return article_shard(int(stem)) if stem.isdigit() else "articles/x"
    return path.rpartition("/")[0]


def article_shard(article_id: int) -> str:
    return f"articles/{article_id // ARTICLES_PER_SHARD}"


class Articles:
    """Every published article as the archive shows it, by id: read a shard at a time, on
    demand, from the last build's manifest (``read``), or held whole (a whole plan's)."""

    def __init__(self, held: dict[int, Listed] | None = None, read: ShardReader | None = None):
        self._held = dict(held or {})
        self._read = read
        self._shards: set[str] = set()  # read (or nothing to read)
        self.dirty: set[str] = set() if read else {article_shard(i) for i in self._held}

    def _load(self, article_id: int) -> None:
        key = article_shard(article_id)
        if self._read is None or key in self._shards:
            return
        self._shards.add(key)
        data = self._read(key)
        if data:
            for ident, listed in articles_from_json(data).items():
                self._held.setdefault(ident, listed)

    def __getitem__(self, article_id: int) -> Listed:
        self._load(article_id)
        return self._held[article_id]

    def __contains__(self, article_id: object) -> bool:
        if not isinstance(article_id, int):
            return False
        self._load(article_id)
        return article_id in self._held

    def pop(self, article_id: int) -> Listed | None:
        self._load(article_id)
        self.dirty.add(article_shard(article_id))
        return self._held.pop(article_id, None)

    def __setitem__(self, article_id: int, listed: Listed) -> None:
        self._load(article_id)
        self.dirty.add(article_shard(article_id))
        self._held[article_id] = listed

    def held(self) -> dict[int, Listed]:
        return self._held

    def by_shard(self) -> dict[str, dict[int, Listed]]:
        """The articles held, by shard (a shard was read when anything in it changed)."""
        shards: dict[str, dict[int, Listed]] = {}
        for ident, listed in self._held.items():
            shards.setdefault(article_shard(ident), {})[ident] = listed
        return shards


class Listings:
    """Every listing by folder: its heading and size from the head, its ids read from its
    shard when needed (or held whole: a whole plan's)."""

    def __init__(
        self,
        sizes: dict[str, tuple[str, int]] | None = None,
        held: dict[str, Shelf] | None = None,
        read: ShardReader | None = None,
    ) -> None:
        self._sizes = dict(sizes or {})
        self._held = dict(held or {})
        self._read = read
        self.dirty: set[str] = set() if read else set(self._held)

    def get(self, folder: str) -> Shelf | None:
        if folder not in self._held and folder in self._sizes and self._read is not None:
            data = self._read(folder)
            try:
                self._held[folder] = Shelf(str(data["heading"]), [int(i) for i in data["ids"]])
            except (KeyError, TypeError, ValueError) as exc:
                raise StaleShardError(f"unreadable listing {folder}: {exc}") from None
        return self._held.get(folder)

    def __setitem__(self, folder: str, shelf: Shelf) -> None:
        self.dirty.add(folder)
        self._held[folder] = shelf
        self._sizes[folder] = (shelf.heading, len(shelf.ids))

    def pop(self, folder: str) -> None:
        self.dirty.add(folder)
        self._held.pop(folder, None)
        self._sizes.pop(folder, None)

    def sizes(self) -> dict[str, tuple[str, int]]:
        """Each listing's heading and size, none of them read for it."""
        held = {folder: (shelf.heading, len(shelf.ids)) for folder, shelf in self._held.items()}
        return dict(sorted({**self._sizes, **held}.items()))

    def __iter__(self) -> Iterator[str]:
        return iter(self.sizes())


@dataclass
class ArchiveState:
    """What the archive holds: its articles and listings, each in the shard of the archive's
    manifest that keeps it (``shard_of``), read only where something changed."""

    mark: int  # the highest ``article_changes.seq`` the build had seen
    shared: str
    articles: Articles = field(default_factory=Articles)
    listings: Listings = field(default_factory=Listings)

    def head(self, token: str = "") -> ArchiveHead:
        return ArchiveHead(self.mark, self.shared, token, self.listings.sizes())

    def dirty(self) -> set[str]:
        """The shards whose articles or listings changed."""
        return self.articles.dirty | self.listings.dirty

    def shard_json(self, key: str, articles: dict[str, dict[int, Listed]]) -> dict[str, Any] | None:
        """What shard ``key`` keeps now besides its pages' signatures (``articles``: those
        held, by shard); None: it keeps nothing (its listing is gone)."""
        if key.startswith("articles/"):
            return articles_json(articles.get(key, {}))
        shelf = self.listings.get(key)
        return None if shelf is None else {"heading": shelf.heading, "ids": shelf.ids}


def articles_json(articles: dict[int, Listed]) -> dict[str, Any]:
    folders = sorted({folder for listed in articles.values() for folder in listed.folders})
    place = {folder: number for number, folder in enumerate(folders)}
    rows = [
        [ident, listed.mark, listed.published, listed.dated, [place[f] for f in listed.folders]]
        for ident, listed in sorted(articles.items())
    ]
    return {"folders": folders, "articles": rows}


def articles_from_json(data: Any) -> dict[int, Listed]:
    """The articles ``articles_json`` wrote; raises ``StaleShardError`` for anything else."""
    try:
        folders = [str(folder) for folder in data["folders"]]
        return {
            int(ident): Listed(
                str(mark),
                None if published is None else int(published),
                int(dated),
                tuple(folders[number] for number in places),
            )
            for ident, mark, published, dated, places in data["articles"]
        }
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise StaleShardError(f"unreadable articles: {exc}") from None


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
