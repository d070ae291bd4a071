"""What the archive holds: the listings (a source's, a tag's and a month's published articles,
newest first), their pages, and the index of every published article that planning and ``serve``
read: ids, dates and change marks only, no article's text. ``archive.py`` says how pages are laid
out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from aggregator.publish.build import Site
from aggregator.publish.entries import plain_text
from aggregator.publish.feed import INDEX, Selection
from aggregator.publish.names import is_source_name
from aggregator.publish.select import change_marks
from aggregator.storage import Session, published
from aggregator.storage.article_feeds import SOURCE, TAG


def article_path(article_id: int) -> str:
    return f"articles/{article_id}.html"


@dataclass(frozen=True)
class Listing:
    """A source's, a tag's or a month's published articles, newest first."""

    folder: str
    heading: str
    description: str
    ids: Sequence[int]
    feed: str | None = None


@dataclass(frozen=True)
class ListingPage:
    """Page ``number`` of ``pages`` of a listing: where it goes and its ids (newest first)."""

    path: str
    number: int
    pages: int
    ids: tuple[int, ...]
    older: str | None
    newer: str | None


def paginate(folder: str, ids: Sequence[int], size: int) -> list[ListingPage]:
    """The pages of ``ids`` (newest first), numbered from the oldest; the newest is the index."""
    oldest_first = list(reversed(ids))
    pages = max(1, -(-len(oldest_first) // size))

    def path(number: int) -> str:
        return f"{folder}/{INDEX}" if number == pages else f"{folder}/{number}.html"

    return [
        ListingPage(
            path(number),
            number,
            pages,
            tuple(reversed(oldest_first[(number - 1) * size : number * size])),
            path(number - 1) if number > 1 else None,
            path(number + 1) if number < pages else None,
        )
        for number in range(1, pages + 1)
    ]


@dataclass
class ArchiveIndex:
    """What planning read: every listing, and per article its mark and the pages it links to."""

    sources: list[tuple[published.SourceDetails, Listing]] = field(default_factory=list)
    tags: list[tuple[str, Listing]] = field(default_factory=list)
    months: list[tuple[str, Listing]] = field(default_factory=list)
    marks: dict[int, str] = field(default_factory=dict)
    month_of: dict[int, str] = field(default_factory=dict)
    dated: dict[int, datetime] = field(default_factory=dict)  # what files it under its month
    published: dict[int, datetime | None] = field(default_factory=dict)  # its feeds' order
    tags_of: dict[int, list[str]] = field(default_factory=dict)

    source_paths: dict[str, str] = field(default_factory=dict)  # by name: its listing
    tag_paths: dict[str, str] = field(default_factory=dict)  # by slug: its listing

    ids: list[int] = field(default_factory=list)  # every published article, by id


def read_archive(
    session: Session,
    site: Site,
    with_marks: bool = True,
    known_marks: dict[int, str] | None = None,
) -> ArchiveIndex:
    """Every published article's listings, dates and (``with_marks``) change marks: ids,
    dates and marks only, never an article's text."""
    index = ArchiveIndex()
    details = {str(row.id): row for row in published.source_details(session)}
    for kind, key, marks in published.every_published(session, site.policy):
        ids = tuple(mark[1] for mark in marks)
        if kind == SOURCE:
            source = details.get(key)
            if source is None or not is_source_name(source.name):
                continue
            listing = listing_of(f"sources/{source.name}", source_heading(source), ids)
            index.sources.append((source, listing))
            index.published.update((mark[1], mark[0]) for mark in marks)
        elif kind == TAG:
            listing = listing_of(f"tags/{key}", marks[0][2] or key, ids)
            index.tags.append((key, listing))
            for article_id in ids:
                index.tags_of.setdefault(article_id, []).append(key)
    index.sources.sort(key=lambda pair: pair[0].name)
    listed = sorted({article_id for _, listing in index.sources for article_id in listing.ids})
    dates = published.listing_dates(session, listed)
    # An article has its pages when it is in a source's listing and dated. The walks above and
    # the dates are separate statements: what a writer published or purged between them waits
    # for the next build (its change mark is above this one's), and is in no listing now.
    every = [article_id for article_id in listed if article_id in dates]
    _keep_only(index, set(every))
    index.ids = every
    if with_marks:
        known = known_marks or {}
        index.marks = {article_id: known[article_id] for article_id in every if article_id in known}
        missing = [article_id for article_id in every if article_id not in index.marks]
        index.marks.update(change_marks(session, missing))
    by_month: dict[str, list[tuple[datetime, int]]] = {}
    index.dated = dates
    for article_id, moment in dates.items():
        month = moment.astimezone(UTC).strftime("%Y/%m")
        index.month_of[article_id] = month
        by_month.setdefault(month, []).append((moment, article_id))
    for month in sorted(by_month, reverse=True):
        ids = tuple(article_id for _, article_id in sorted(by_month[month], reverse=True))
        index.months.append((month, listing_of(f"archive/{month}", month_name(month), ids)))
    index.source_paths = {row.name: f"{listing.folder}/{INDEX}" for row, listing in index.sources}
    index.tag_paths = {slug: f"{listing.folder}/{INDEX}" for slug, listing in index.tags}
    return index


def _keep_only(index: ArchiveIndex, ids: set[int]) -> None:
    """Leave out of the source and tag listings every article not in ``ids``."""

    def kept(listing: Listing) -> Listing:
        return replace(listing, ids=tuple(i for i in listing.ids if i in ids))

    sources = [(source, kept(listing)) for source, listing in index.sources]
    tags = [(key, kept(listing)) for key, listing in index.tags]
    index.sources = [(source, listing) for source, listing in sources if listing.ids]
    index.tags = [(key, listing) for key, listing in tags if listing.ids]


def all_listings(index: ArchiveIndex) -> list[Listing]:
    return [
        *(listing for _, listing in index.sources),
        *(listing for _, listing in index.tags),
        *(listing for _, listing in index.months),
    ]


def listing_of(folder: str, heading: str, ids: Sequence[int]) -> Listing:
    """The listing in ``folder`` (``sources/NAME``, ``tags/SLUG``, ``archive/YYYY/MM``)."""
    kind, _, key = folder.partition("/")
    if kind == "sources":
        feed = Selection(source=key).path()
        return Listing(folder, heading, f"Articles seen at {heading}.", ids, feed)
    if kind == "tags":
        feed = Selection(tag=key).path()
        return Listing(folder, heading, f"Articles tagged “{heading}”.", ids, feed)
    return Listing(folder, heading, f"Articles from {heading}.", ids)


def source_heading(source: published.SourceDetails) -> str:
    return plain_text(source.title or "") or source.name


def month_heading(folder: str) -> str:
    return month_name(folder.removeprefix("archive/"))


_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_name(month: str) -> str:
    year, number = month.split("/")
    return f"{_MONTH_NAMES[int(number) - 1]} {year}"
