"""The archive's files: which pages a build has, what each shows, and what its bytes depend on.

``plan_archive`` plans the whole archive, when there is no usable record of the last build or
something every page shows changed: it reads ids only, every published article of every source
and tag feed (one ordered index walk per feed, ``storage.published.every_published``), each
article's change mark and date (read by id). From those it lists every page with a signature of
what its bytes depend on (its articles' change marks, the settings that shape it, the renderer's
code), and renders nothing: a page whose signature the last build wrote is left alone
(``write.py``). It also returns what the manifest keeps for the next build
(``archive_state``), which then plans only what changed (``archive_delta``).

Pages:

- ``articles/ID.html``, one per published article, named by its database id (never by its URL,
  which can change);
- ``sources/NAME/``, ``tags/SLUG/`` and ``archive/YYYY/MM/``: the articles of a source, a tag and
  a month, newest first, ``page_size`` a page. Pages are numbered from the oldest: page 1 holds
  the oldest articles and keeps them, so a new article changes only the newest page, which is
  ``index.html`` (the numbered files are the full, older pages: ``1.html`` .. ``N-1.html``). When
  the newest page fills, it becomes ``N.html`` and a new ``index.html`` starts. An article
  dated earlier than others (found late) or one that leaves shifts the pages after its place;
- ``sources/index.html`` (every source with published articles), ``tags/index.html``,
  ``archive/index.html`` (the months) and ``sources.opml``.

So a new article writes its own page, the newest page of its sources, tags and month, and the
lists (their counts change); a build with nothing new writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aggregator.publish.archive_index import ArchiveIndex, all_listings, paginate, read_archive
from aggregator.publish.archive_outputs import (
    EntryWindow,
    archive_signature,
    article_output,
    entry_loader,
    lists,
    page_output,
)
from aggregator.publish.archive_state import (
    ArchiveHead,
    ArchiveState,
    Articles,
    Listed,
    Listings,
    Shelf,
    mark_digest,
    microseconds,
)
from aggregator.publish.build import Output, Site
from aggregator.publish.entries import Entry
from aggregator.storage import Session, published


@dataclass
class ArchivePlan:
    """The archive's part of a build: the files to sign (and render when their signature is
    new), what the manifests keep for the next build, and the pages no longer built. A whole
    plan (``dropped`` None) lists every file; a plan of changes (``archive_delta``) lists the
    files that may have changed, and every other page of the last build stays as it was.
    ``state`` is None when no page can have changed (the last one was not even read)."""

    outputs: list[Output]
    head: ArchiveHead
    state: ArchiveState | None
    dropped: set[str] | None = None
    touched: bool = True  # the head or state differs from the last build's


def plan_archive(
    session: Session,
    site: Site,
    mark: int,
    made: dict[int, Entry] | None = None,
    known_marks: dict[int, str] | None = None,
    details: list[published.SourceDetails] | None = None,
) -> ArchivePlan:
    """Every file of the archive, unrendered, each with its signature. ``made`` and
    ``known_marks`` are what the feeds' planning already read (entries, change marks); the
    archive reads from ``made`` but keeps nothing in it, so a build of the whole archive never
    holds more than a window of its entries. ``mark`` is the highest ``article_changes.seq``
    read before (``storage.changes``)."""
    index = read_archive(session, site, known_marks=known_marks or {})
    made = {} if made is None else made
    shared = archive_signature(site, details or published.source_details(session))
    state = _state_of(index, mark, shared)
    entries = entry_loader(session, site, made)
    window = EntryWindow(entries, index.ids)
    outputs = [
        article_output(site, shared, article_id, state.articles[article_id], window.entries)
        for article_id in index.ids
    ]
    for listing in all_listings(index):
        for page in paginate(listing.folder, listing.ids, site.archive):
            outputs.append(
                page_output(site, shared, state, listing, page, index.source_paths, entries)
            )
    outputs += lists(site, index, shared)
    return ArchivePlan(outputs, state.head(), state)


def _state_of(index: ArchiveIndex, mark: int, shared: str) -> ArchiveState:
    """What the manifest keeps of ``index`` for the next build's plan of changes."""
    folders: dict[int, list[str]] = {}
    for _, listing in [*index.sources, *index.tags]:
        for article_id in listing.ids:
            folders.setdefault(article_id, []).append(listing.folder)
    articles = {
        article_id: Listed(
            mark_digest(index.marks.get(article_id)),
            _microseconds(index.published.get(article_id)),
            microseconds(index.dated[article_id]),
            tuple(folders.get(article_id, ())),
        )
        for article_id in index.ids
    }
    listings = {
        listing.folder: Shelf(listing.heading, list(listing.ids)) for listing in all_listings(index)
    }
    return ArchiveState(mark, shared, Articles(articles), Listings(held=listings))


def _microseconds(moment: datetime | None) -> int | None:
    return None if moment is None else microseconds(moment)
