"""Published entries for the outputs, built from the rows ``storage.published`` reads.

A tag feed matches by slug ("Mutual aid" and "mutual-aid" are one feed); storage files each
article under its tags' slugs when it is written, so every selection is one indexed read of the
newest ``limit`` ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.publish.entries import Entry, SourceRef, build_entry, plain_text
from aggregator.publish.names import is_source_name
from aggregator.storage import Session, published
from aggregator.storage.published import ArticleRow, PublishPolicy, published_filter

__all__ = [
    "PublishPolicy",
    "TagGroup",
    "group_by_tag",
    "load_entries",
    "load_sources",
    "published_filter",
    "published_ids",
    "select_entries",
    "source_named",
    "sources_with_published",
]


@dataclass(frozen=True)
class TagGroup:
    """A tag's slug, the spelling shown for it, and its newest published article ids."""

    slug: str
    label: str
    ids: list[int] = field(default_factory=list)


def select_entries(
    session: Session,
    policy: PublishPolicy,
    limit: int,
    source: str | None = None,
    tag: str | None = None,
    cache: dict[int, Entry] | None = None,
) -> list[Entry]:
    """The newest ``limit`` published entries, of one source and/or one tag slug if given."""
    ids = published_ids(session, policy, limit, source, tag)
    return load_entries(session, policy, ids, cache)


def published_ids(
    session: Session,
    policy: PublishPolicy,
    limit: int,
    source: str | None = None,
    tag: str | None = None,
) -> list[int]:
    """Ids of the newest ``limit`` published articles, filtered by source name and tag slug."""
    return published.newest_ids(session, policy, limit, source, tag)


def group_by_tag(session: Session, policy: PublishPolicy, limit: int) -> list[TagGroup]:
    """Every tag of the published articles, by slug, with its newest ``limit`` ids."""
    return [
        TagGroup(feed.slug, feed.label, feed.ids)
        for feed in published.tag_feeds(session, policy, limit)
    ]


def load_entries(
    session: Session,
    policy: PublishPolicy,
    ids: Sequence[int],
    cache: dict[int, Entry] | None = None,
) -> list[Entry]:
    """Entries for ``ids``, in that order, with their sources and sightings.

    ``cache`` (one build's, where an article appears in several feeds) keeps entries already
    made, so each article is read and sanitised once per build.
    """
    cache = {} if cache is None else cache
    missing = [article_id for article_id in dict.fromkeys(ids) if article_id not in cache]
    if missing:
        _build_entries(session, policy, published.rows_by_id(session, missing), cache)
    return [cache[article_id] for article_id in ids if article_id in cache]


def _build_entries(
    session: Session, policy: PublishPolicy, rows: Sequence[ArticleRow], made: dict[int, Entry]
) -> None:
    """Entries for ``rows``, with their sightings, into ``made`` in order."""
    if not rows:
        return
    sources = load_sources(session)
    sightings = published.sightings_of(session, [row.id for row in rows])
    for row in rows:
        made[row.id] = build_entry(row, sightings[row.id], sources, policy.id_domain, policy)


def load_sources(session: Session) -> dict[int, SourceRef]:
    """Every stored source by id, named as outputs show it."""
    return {
        source_id: _source_ref(name, title)
        for source_id, name, title in published.source_rows(session)
    }


def sources_with_published(session: Session, policy: PublishPolicy) -> list[SourceRef]:
    """The sources (with names fit for file names) where a published article was seen."""
    rows = published.sources_with_published(session, policy)
    return [_source_ref(name, title) for name, title in rows if is_source_name(name)]


def source_feeds(
    session: Session, policy: PublishPolicy, limit: int
) -> list[tuple[SourceRef, list[int]]]:
    """Every source (with a name fit for a file name) with published articles, by name, with
    its newest ``limit`` ids."""
    return [
        (_source_ref(name, title), ids)
        for name, title, ids in published.source_feeds(session, policy, limit)
        if is_source_name(name)
    ]


def source_titles(session: Session) -> list[tuple[int, str, str | None]]:
    """(id, name, title) of every stored source, as stored."""
    return published.source_rows(session)


def change_marks(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Per article, a text that changes whenever its published entry can; read by id."""
    return published.change_marks(session, ids)


def source_named(session: Session, name: str) -> SourceRef | None:
    """The stored source called ``name``, if its name is one the config allows."""
    if not is_source_name(name):
        return None
    row = published.source_title(session, name)
    return _source_ref(*row) if row else None


def _source_ref(name: str, title: str | None) -> SourceRef:
    return SourceRef(name, plain_text(title or "") or name)
