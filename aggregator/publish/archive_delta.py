"""The archive's files that may have changed since the last build, from what changed.

The last build's manifest keeps what its archive held (``archive_state``) and the highest
``article_changes.seq`` it had seen. Triggers raise an article's ``seq`` whenever its pages can
change (``storage.changes``), so the articles above the mark are the only ones whose pages,
places or listings may differ. For each of them this reads its feed rows (which listings it is
published in now), change mark and dates, by id; moves it in the listings it left or joined;
and plans its own page, each page of those listings whose articles, place or heading changed,
and the lists. Every other file stays as the last build wrote it, neither signed nor read: a
build with nothing new reads one index range and plans four files, whatever the archive.

Anything that shapes every page (the renderer's code, the settings, the publishing policy, a
source's name or title) changes the shared signature, and then the whole archive is planned
again (``archive.plan_archive``), as it is with no usable manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.publish.archive import ArchivePlan, plan_archive
from aggregator.publish.archive_index import (
    ArchiveIndex,
    Listing,
    article_path,
    listing_of,
    month_heading,
    paginate,
    source_heading,
)
from aggregator.publish.archive_outputs import (
    EntryWindow,
    archive_signature,
    article_output,
    entry_loader,
    lists,
    page_output,
    page_parts,
)
from aggregator.publish.archive_state import (
    ArchiveState,
    Articles,
    Listed,
    Shelf,
    StaleShardError,
    mark_digest,
    microseconds,
    order_key,
)
from aggregator.publish.build import Output, Site
from aggregator.publish.entries import Entry
from aggregator.publish.feed import INDEX
from aggregator.publish.manifest import ArchiveRecord
from aggregator.publish.names import is_source_name
from aggregator.publish.select import change_marks
from aggregator.storage import Session, article_feeds, changes, published
from aggregator.storage.article_feeds import SOURCE, TAG

log = logging.getLogger(__name__)


def plan(
    session: Session,
    site: Site,
    last: ArchiveRecord | None,
    mark: int | None,
    made: dict[int, Entry] | None = None,
    known_marks: dict[int, str] | None = None,
) -> ArchivePlan:
    """The archive's plan: of its changes since ``last`` when that is usable, else whole.
    ``mark`` is the settled ``article_changes.seq`` read before this session (None: unknown,
    keep the last one)."""
    made = {} if made is None else made
    details = published.source_details(session)
    shared = archive_signature(site, details)
    head = last.head if last else None
    if mark is None:
        mark = head.mark if head else 0
    if last is None or head is None or head.shared != shared:
        return plan_archive(session, site, mark, made, known_marks, details)
    if mark < head.mark:  # the database is older than the last build (restored, re-migrated)
        return plan_archive(session, site, mark, made, known_marks, details)
    changed = changes.changed_since(session, head.mark)
    if not changed:  # no page can differ: the lists only, from the head
        sizes = {
            folder: (heading, range(count)) for folder, (heading, count) in head.listings.items()
        }
        outputs = lists(site, _index(details, sizes), shared)
        return ArchivePlan(outputs, head.with_mark(mark), None, set(), mark != head.mark)
    state = last.state()
    if state is None:  # the archive manifest is not the head's
        return plan_archive(session, site, mark, made, known_marks, details)
    try:
        return _Delta(session, site, state, details, made).plan(mark, changed)
    except StaleShardError as exc:  # a build stopped while writing the shards
        log.warning("planning the whole archive: %s", exc)
        return plan_archive(session, site, mark, made, known_marks, details)


@dataclass
class _Moves:
    """Per listing, the changed articles that left it and those that are in it now."""

    left: dict[str, set[int]] = field(default_factory=dict)
    joined: dict[str, list[int]] = field(default_factory=dict)

    def folders(self) -> list[str]:
        return sorted({*self.left, *self.joined})


class _Delta:
    def __init__(
        self,
        session: Session,
        site: Site,
        state: ArchiveState,
        details: list[published.SourceDetails],
        made: dict[int, Entry],
    ) -> None:
        self.session = session
        self.site = site
        self.state = state  # updated in place into the new state
        self.details = details
        self.entries = entry_loader(session, site, made)
        self.labels: dict[tuple[str, int], str | None] = {}

    def plan(self, mark: int, changed: list[int]) -> ArchivePlan:
        state = self.state
        state.mark = mark
        fresh = self._read(changed)
        moves = _Moves()
        dropped: set[str] = set()
        for article_id in changed:
            old = state.articles.pop(article_id)
            if old is not None:
                dropped.add(article_path(article_id))
                for folder in old.every_folder():
                    moves.left.setdefault(folder, set()).add(article_id)
            new = fresh.get(article_id)
            if new is not None:
                state.articles[article_id] = new
                dropped.discard(article_path(article_id))
                for folder in new.every_folder():
                    moves.joined.setdefault(folder, []).append(article_id)
        order = sorted(fresh)
        window = EntryWindow(self.entries, order)
        outputs = [
            article_output(self.site, state.shared, article_id, fresh[article_id], window.entries)
            for article_id in order
        ]
        moved = [self._move(folder, moves) for folder in moves.folders()]
        paths = self._source_paths()  # once every listing moved: a source's may be new
        for folder, before, heading in moved:
            outputs += self._pages(folder, before, heading, set(changed), dropped, paths)
        sizes = state.listings.sizes()  # none read for it
        listings = {folder: (heading, range(count)) for folder, (heading, count) in sizes.items()}
        outputs += lists(self.site, _index(self.details, listings), state.shared)
        return ArchivePlan(outputs, state.head(), state, dropped)

    def _read(self, changed: Sequence[int]) -> dict[int, Listed]:
        """The changed articles published now, as the archive shows them."""
        if not changed:
            return {}
        names = {str(row.id): row.name for row in self.details if is_source_name(row.name)}
        folders: dict[int, list[str]] = {}
        tags: dict[int, list[str]] = {}
        dates: dict[int, datetime | None] = {}
        for row in published.published_rows(self.session, self.site.policy, changed):
            if row.kind == SOURCE and row.key in names:
                folders.setdefault(row.article_id, []).append(f"sources/{names[row.key]}")
                dates[row.article_id] = row.published_at
            elif row.kind == TAG:
                tags.setdefault(row.article_id, []).append(f"tags/{row.key}")
                self.labels[(row.key, row.article_id)] = row.label
        present = sorted(folders)  # an article has a page when a source lists it
        marks = change_marks(self.session, present)
        dated = published.listing_dates(self.session, present)
        return {
            article_id: Listed(
                mark_digest(marks.get(article_id)),
                _microseconds(dates[article_id]),
                microseconds(dated[article_id]),
                tuple(sorted(folders[article_id]) + sorted(tags.get(article_id, []))),
            )
            for article_id in present
            if article_id in dated
        }

    def _move(self, folder: str, moves: _Moves) -> tuple[str, list[int], str]:
        """Move the changed articles out of and into one listing: its ids and heading before."""
        state = self.state
        shelf = state.listings.get(folder) or Shelf("", [])
        ids = _moved(folder, shelf.ids, moves.left.get(folder, set()),
                     moves.joined.get(folder, []), state.articles)  # fmt: skip
        if ids:
            state.listings[folder] = Shelf(self._heading(folder, ids[0], shelf), ids)
        else:
            state.listings.pop(folder)
        return folder, shelf.ids, shelf.heading

    def _pages(
        self,
        folder: str,
        before: list[int],
        heading: str,
        changed: set[int],
        dropped: set[str],
        paths: dict[str, str],
    ) -> list[Output]:
        """The pages of one listing that may differ since it moved (``before``, ``heading``:
        its ids and heading before); the pages it no longer has go into ``dropped``."""
        state, size = self.state, self.site.archive
        old_pages = {page.path: page for page in paginate(folder, before, size)} if before else {}
        shelf = state.listings.get(folder)
        if shelf is None:
            dropped.update(old_pages)
            return []
        listing = listing_of(folder, shelf.heading, shelf.ids)
        outputs = []
        pages = paginate(folder, shelf.ids, size)
        for page in pages:
            old = old_pages.get(page.path)
            if (
                old is not None
                and shelf.heading == heading
                and old.ids == page.ids
                and page_parts(old) == page_parts(page)
                and changed.isdisjoint(page.ids)
            ):
                continue
            outputs.append(
                page_output(self.site, state.shared, state, listing, page, paths, self.entries)
            )
        dropped.update(set(old_pages) - {page.path for page in pages})
        return outputs

    def _heading(self, folder: str, newest: int, shelf: Shelf) -> str:
        """A source's title, a month's name, or a tag as its newest article spells it."""
        kind, _, key = folder.partition("/")
        if kind == "sources":
            found = [row for row in self.details if row.name == key]
            return source_heading(found[0]) if found else key
        if kind != "tags":
            return month_heading(folder)
        if (key, newest) in self.labels:
            return self.labels[(key, newest)] or key
        if shelf.ids and shelf.ids[0] == newest:
            return shelf.heading
        return article_feeds.tag_label(self.session, key, newest) or key

    def _source_paths(self) -> dict[str, str]:
        return {
            folder.removeprefix("sources/"): f"{folder}/{INDEX}"
            for folder in self.state.listings
            if folder.startswith("sources/")
        }


def _index(
    details: list[published.SourceDetails], listings: Mapping[str, tuple[str, Sequence[int]]]
) -> ArchiveIndex:
    """The listings as the lists need them: their headings and sizes (``ids`` may be a
    ``range`` of the right length when only the size is known)."""

    def listing(folder: str) -> Listing:
        return listing_of(folder, *listings[folder])

    index = ArchiveIndex()
    index.sources = [
        (row, listing(f"sources/{row.name}"))
        for row in details
        if f"sources/{row.name}" in listings
    ]
    index.tags = [
        (folder.removeprefix("tags/"), listing(folder))
        for folder in sorted(listings)
        if folder.startswith("tags/")
    ]
    index.months = [
        (folder.removeprefix("archive/"), listing(folder))
        for folder in sorted(listings, reverse=True)
        if folder.startswith("archive/")
    ]
    return index


def _microseconds(moment: datetime | None) -> int | None:
    return None if moment is None else microseconds(moment)


def _moved(
    folder: str,
    before: list[int],
    left: set[int],
    joined: list[int],
    articles: Articles,
) -> list[int]:
    """A listing's ids (newest first) once ``left`` are out and ``joined`` in: new articles
    newer than all before go in front, anything else sorts the listing again."""

    def key(article_id: int) -> tuple[bool, int, int]:
        return order_key(folder, article_id, articles[article_id])

    kept = [article_id for article_id in before if article_id not in left] if left else before
    incoming = sorted(joined, key=key, reverse=True)
    if not incoming:
        return list(kept)
    if not kept or key(incoming[-1]) > key(kept[0]):
        return incoming + kept
    return sorted([*kept, *incoming], key=key, reverse=True)
