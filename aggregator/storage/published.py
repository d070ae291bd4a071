"""The queries behind every output: which articles are published, newest first, and their rows.

Published: a relevance score at least the topic threshold, or seen at a source configured with
``relevance: keep_all`` (as the original or as any other sighting). Newest first: by
``published_at``, then by id. Reads only. Plain column reads go through Core on the session's
connection, without the ORM's row machinery: a build reads thousands of rows.

``aggregator.publish.select`` turns these rows into entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from aggregator.config import UNSET_ID_DOMAIN, Config
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


@dataclass(frozen=True, slots=True)
class SightingRow:
    source_id: int
    url: str
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """The stored columns publishing reads (``text`` may be only its beginning)."""

    id: int
    canonical_url: str
    primary_source_id: int
    title: str
    author: str | None
    published_at: datetime | None
    updated_at: datetime | None
    first_seen_at: datetime
    last_changed_at: datetime
    text: str
    html: str
    sanitized_with: int | None  # the SANITIZER_VERSION that produced ``html``, if known
    language: str | None
    tags: Sequence[str]


def published_filter(policy: PublishPolicy) -> ColumnElement[bool]:
    """The SQL condition for "this article is published"."""
    conditions: list[ColumnElement[bool]] = [Article.relevance >= policy.threshold]
    if policy.keep_all:
        keep = select(Source.id).where(Source.name.in_(sorted(policy.keep_all)))
        conditions.append(Article.primary_source_id.in_(keep))
        seen = aliased(Sighting)  # the outer query may itself read sightings
        conditions.append(exists().where(seen.article_id == Article.id, seen.source_id.in_(keep)))
    return or_(*conditions)


def newest_rows(
    session: Session, policy: PublishPolicy, limit: int, source: str | None = None
) -> list[ArticleRow]:
    """The newest ``limit`` published articles (seen at ``source``, if given), read whole by
    the query that picks them rather than by id after it."""
    where, order = _published_newest_first(policy, source)
    query = _article_columns().where(*where).order_by(*order).limit(limit)
    return [ArticleRow(*row) for row in session.connection().execute(query)]


def newest_ids(
    session: Session, policy: PublishPolicy, limit: int, source: str | None = None
) -> list[int]:
    """Ids of the newest ``limit`` published articles (seen at ``source``, if given)."""
    where, order = _published_newest_first(policy, source)
    return list(session.scalars(select(Article.id).where(*where).order_by(*order).limit(limit)))


def scan_tags(
    session: Session, policy: PublishPolicy, source: str | None = None
) -> Iterator[tuple[int, object]]:
    """(id, stored tags) of every published article, newest first, read in batches.

    Tags live in a JSON column, which SQLite and PostgreSQL query differently, and a tag feed
    matches by slug; so tag selections walk this in Python and stop when full.
    """
    where, order = _published_newest_first(policy, source)
    query = select(Article.id, Article.tags).where(*where).order_by(*order)
    result = session.execute(query, execution_options={"yield_per": _SCAN_BATCH})
    yield from ((row[0], row[1]) for row in result)


def rows_by_id(session: Session, ids: Sequence[int]) -> list[ArticleRow]:
    """The rows of the articles ``ids`` (in no particular order; missing ids left out)."""
    connection = session.connection()
    rows: list[ArticleRow] = []
    for chunk in _chunks(ids):
        query = _article_columns().where(Article.id.in_(chunk))
        rows += (ArticleRow(*row) for row in connection.execute(query))
    return rows


def sightings_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[SightingRow]]:
    """Every sighting of each of ``article_ids`` (an empty list for one with none)."""
    found: dict[int, list[SightingRow]] = {article_id: [] for article_id in article_ids}
    connection = session.connection()
    seen = select(Sighting.article_id, Sighting.source_id, Sighting.url, Sighting.first_seen_at)
    for chunk in _chunks(list(found)):
        query = seen.where(Sighting.article_id.in_(chunk))
        for article_id, source_id, url, first_seen in connection.execute(query):
            found[article_id].append(SightingRow(source_id, url, first_seen))
    return found


def source_rows(session: Session) -> list[tuple[int, str, str | None]]:
    """(id, name, title) of every stored source."""
    rows = session.execute(select(Source.id, Source.name, Source.title))
    return [(source_id, name, title) for source_id, name, title in rows]


def sources_with_published(session: Session, policy: PublishPolicy) -> list[tuple[str, str | None]]:
    """(name, title) of the sources where a published article was seen, by name."""
    seen = select(Sighting.source_id).join(Article, Article.id == Sighting.article_id)
    query = (
        select(Source.name, Source.title)
        .where(Source.id.in_(seen.where(published_filter(policy))))
        .order_by(Source.name)
    )
    return [(name, title) for name, title in session.execute(query)]


def source_title(session: Session, name: str) -> tuple[str, str | None] | None:
    """(name, title) of the stored source called ``name``, or None."""
    row = session.execute(select(Source.name, Source.title).where(Source.name == name)).first()
    return (row[0], row[1]) if row else None


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


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
