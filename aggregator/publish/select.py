"""Which articles are published, in which order, and everything an entry needs about them.

Published: a relevance score at least the topic threshold, or seen at a source configured with
``relevance: keep_all`` (as the original or as any other sighting). Newest first: by
``published_at``, then by id. Reads only, through SQLAlchemy queries.

Tags live in a JSON column, which SQLite and PostgreSQL query differently, and a tag feed
matches by slug ("Mutual aid" and "mutual-aid" are one feed); so tag selections walk the
published articles newest first in Python, reading only ids and tags, and stop when full.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from aggregator.config import UNSET_ID_DOMAIN, Config
from aggregator.publish.entries import (
    ArticleRow,
    Entry,
    SightingRow,
    SourceRef,
    build_entry,
    clean_tags,
    plain_text,
)
from aggregator.publish.names import is_source_name, slugify_tag
from aggregator.storage.models import Article, Sighting, Source

# How much of an article's text is read for its summary.
SUMMARY_SOURCE_CHARS = 1200
_CHUNK = 500
_SCAN_BATCH = 1000


@dataclass(frozen=True)
class PublishPolicy:
    """What makes an article published, and how entries are named."""

    threshold: float
    keep_all: frozenset[str] = frozenset()
    id_domain: str = UNSET_ID_DOMAIN

    @classmethod
    def from_config(cls, config: Config) -> PublishPolicy:
        keep_all = {
            name for name, source in config.sources.items() if source.relevance == "keep_all"
        }
        return cls(config.topic.threshold, frozenset(keep_all), config.output.id_domain)


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
    if tag is None and not cache:
        # Nothing to reuse: read the rows with the query that picks them, not by id after it.
        where, order = _published_newest_first(policy, source)
        query = _article_columns().where(*where).order_by(*order).limit(limit)
        made = {} if cache is None else cache
        rows = session.connection().execute(query).all()
        _build_entries(session, policy, rows, made)
        return list(made.values())
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
    where, order = _published_newest_first(policy, source)
    if tag is None:
        return list(session.scalars(select(Article.id).where(*where).order_by(*order).limit(limit)))
    rows = _scan(session, where, order)
    slugs = _TagSlugs()
    matching = (article_id for article_id, tags in rows if tag in slugs.of(tags))
    return list(islice(matching, limit))


def group_by_tag(session: Session, policy: PublishPolicy, limit: int) -> list[TagGroup]:
    """Every tag of the published articles with its newest ``limit`` ids, in one pass."""
    groups: dict[str, TagGroup] = {}
    slugs = _TagSlugs()
    for article_id, tags in _scan(session, *_published_newest_first(policy)):
        for slug, label in slugs.labelled(tags):
            group = groups.setdefault(slug, TagGroup(slug, label))
            if len(group.ids) < limit and article_id not in group.ids[-1:]:
                group.ids.append(article_id)
    return sorted(groups.values(), key=lambda group: group.slug)


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
        connection = session.connection()
        rows: list[Any] = []
        for chunk in _chunks(missing):
            rows += connection.execute(_article_columns().where(Article.id.in_(chunk))).all()
        _build_entries(session, policy, rows, cache)
    return [cache[article_id] for article_id in ids if article_id in cache]


def _build_entries(
    session: Session, policy: PublishPolicy, rows: Sequence[Any], made: dict[int, Entry]
) -> None:
    """Entries for rows of ``_article_columns``, with their sightings, into ``made`` in order."""
    # Plain column reads: Core on the session's connection, without the ORM's row machinery.
    if not rows:
        return
    sources = load_sources(session)
    articles = [ArticleRow(*row) for row in rows]
    sightings: dict[int, list[SightingRow]] = {article.id: [] for article in articles}
    connection = session.connection()
    seen = select(Sighting.article_id, Sighting.source_id, Sighting.url, Sighting.first_seen_at)
    for chunk in _chunks(list(sightings)):
        query = seen.where(Sighting.article_id.in_(chunk))
        for article_id, source_id, url, first_seen in connection.execute(query):
            sightings[article_id].append(SightingRow(source_id, url, first_seen))
    for article in articles:
        made[article.id] = build_entry(article, sightings[article.id], sources, policy.id_domain)


def load_sources(session: Session) -> dict[int, SourceRef]:
    """Every stored source by id, named as outputs show it."""
    rows = session.execute(select(Source.id, Source.name, Source.title))
    return {
        source_id: SourceRef(name, plain_text(title or "") or name)
        for source_id, name, title in rows
    }


def sources_with_published(session: Session, policy: PublishPolicy) -> list[SourceRef]:
    """The sources (with names fit for file names) where a published article was seen."""
    seen = select(Sighting.source_id).join(Article, Article.id == Sighting.article_id)
    query = (
        select(Source.name, Source.title)
        .where(Source.id.in_(seen.where(published_filter(policy))))
        .order_by(Source.name)
    )
    rows = session.execute(query)
    return [_source_ref(name, title) for name, title in rows if is_source_name(name)]


def source_named(session: Session, name: str) -> SourceRef | None:
    """The stored source called ``name``, if its name is one the config allows."""
    if not is_source_name(name):
        return None
    row = session.execute(select(Source.name, Source.title).where(Source.name == name)).first()
    return _source_ref(row[0], row[1]) if row else None


def _source_ref(name: str, title: str | None) -> SourceRef:
    return SourceRef(name, plain_text(title or "") or name)


def published_filter(policy: PublishPolicy) -> ColumnElement[bool]:
    """The SQL condition for "this article is published"."""
    conditions: list[ColumnElement[bool]] = [Article.relevance >= policy.threshold]
    if policy.keep_all:
        keep = select(Source.id).where(Source.name.in_(sorted(policy.keep_all)))
        conditions.append(Article.primary_source_id.in_(keep))
        seen = aliased(Sighting)  # the outer query may itself read sightings
        conditions.append(exists().where(seen.article_id == Article.id, seen.source_id.in_(keep)))
    return or_(*conditions)


def _published_newest_first(
    policy: PublishPolicy, source: str | None = None
) -> tuple[list[ColumnElement[bool]], list[UnaryExpression[Any]]]:
    """The WHERE conditions and ORDER BY of a selection."""
    where = [published_filter(policy)]
    if source is not None:
        seen_there = (
            select(Sighting.id)
            .join(Source, Source.id == Sighting.source_id)
            .where(Sighting.article_id == Article.id, Source.name == source)
        )
        where.append(seen_there.exists())
    return where, [Article.published_at.desc().nulls_last(), Article.id.desc()]


def _article_columns() -> Select[Any]:
    return select(
        Article.id,
        Article.canonical_url,
        Article.primary_source_id,
        Article.title,
        Article.author,
        Article.published_at,
        Article.updated_at,
        Article.first_seen_at,
        Article.last_changed_at,
        func.substr(Article.text, 1, SUMMARY_SOURCE_CHARS),
        Article.html,
        Article.sanitized_with,
        Article.language,
        Article.tags,
    )


def _scan(
    session: Session,
    where: list[ColumnElement[bool]],
    order: list[UnaryExpression[Any]],
) -> Iterator[tuple[int, object]]:
    """(id, tags) of the selection, newest first, read in batches."""
    query = select(Article.id, Article.tags).where(*where).order_by(*order)
    result = session.execute(query, execution_options={"yield_per": _SCAN_BATCH})
    yield from ((row[0], row[1]) for row in result)


class _TagSlugs:
    """The (slug, label) pairs of stored tag lists, each distinct list worked out once.

    A scan reads the tags of every published article, and the same few lists recur on most of
    them: cleaning and slugifying each distinct list once halves the cost of a scan.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}

    def labelled(self, tags: object) -> tuple[tuple[str, str], ...]:
        """(slug, label) of each clean tag with a slug, in order."""
        # Tags that are not strings are dropped by clean_tags anyway, and could not be a key.
        key = tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else ()
        pairs = self._known.get(key)
        if pairs is None:
            labelled = ((slugify_tag(label), label) for label in clean_tags(key))
            pairs = self._known[key] = tuple((slug, label) for slug, label in labelled if slug)
        return pairs

    def of(self, tags: object) -> set[str]:
        return {slug for slug, _ in self.labelled(tags)}


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
