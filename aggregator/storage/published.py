"""The queries behind every output: which articles are published, newest first, and their rows.

Published: a relevance score at least the topic threshold, or seen at a source configured with
``relevance: keep_all`` (as the original or as any other sighting), unless a curator decided
otherwise: ``publish`` and ``pin`` publish an article whatever its score, ``hold`` never does
(``storage.decisions``); and in every case, the article's primary source has not opted out
(``opt_out: true``). Newest first: by ``published_at``, then by id, undated articles last.
Reads only.

Every selection reads only what it publishes: the combined feed walks the articles index on
``(published_at, id, relevance)`` backwards, and each keep_all source's rows; a source's or a
tag's feed walks its rows of ``article_feeds`` (``storage.article_feeds``) the same way. Each
walk stops after ``limit`` published rows, so the cost follows ``output.items``, not the
archive. The threshold, keep_all sources and opt-outs are applied as the walks read, never
stored; a decision is read from the walked row's own copy (feed rows), or probed by key for the
articles the combined walk would publish, which adds the (few) articles decided published.
Plain column reads go through Core on the session's connection, without the ORM's row
machinery.

``aggregator.publish.select`` turns these rows into entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session, aliased

from aggregator.config import UNSET_ID_DOMAIN, Config
from aggregator.storage import decisions
from aggregator.storage.article_feeds import SOURCE, TAG
from aggregator.storage.models import Article, ArticleFeed, Sighting, Source
from aggregator.storage.types import UTCDateTime

# How much of an article's text is read for its summary.
SUMMARY_SOURCE_CHARS = 1200
_CHUNK = 500


@dataclass(frozen=True)
class PublishPolicy:
    """What makes an article published, how much of it the outputs carry, and how entries are
    named.

    ``republish`` holds each configured source's mode (``full``, ``excerpt``, ``link`` or
    ``auto``); a source not listed (stored, no longer configured) has ``default_republish``.
    The articles of ``opted_out`` sources are in no output, and those sources are named in no
    attribution; a source that opted out no longer keeps all either.
    """

    threshold: float
    keep_all: frozenset[str] = frozenset()
    id_domain: str = UNSET_ID_DOMAIN
    republish: tuple[tuple[str, str], ...] = ()
    default_republish: str = "full"
    opted_out: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Config) -> PublishPolicy:
        opted_out = {name for name, source in config.sources.items() if source.opt_out}
        keep_all = {
            name for name, source in config.sources.items() if source.relevance == "keep_all"
        }
        modes = tuple(sorted((name, config.republish(name)) for name in config.sources))
        return cls(
            config.topic.threshold,
            frozenset(keep_all - opted_out),
            config.output.id_domain,
            modes,
            config.output.republish,
            frozenset(opted_out),
        )

    def republish_mode(self, source: str) -> str:
        """The republish mode of the source named ``source``."""
        return dict(self.republish).get(source, self.default_republish)


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
    licence: str | None = None  # ``aggregator.licences``: what the page declares, if known


def published_filter(policy: PublishPolicy) -> ColumnElement[bool]:
    """The SQL condition for "this article is published"."""
    conditions: list[ColumnElement[bool]] = [Article.relevance >= policy.threshold]
    if policy.keep_all:
        keep = select(Source.id).where(Source.name.in_(sorted(policy.keep_all)))
        conditions.append(Article.primary_source_id.in_(keep))
        seen = aliased(Sighting)  # the outer query may itself read sightings
        conditions.append(exists().where(seen.article_id == Article.id, seen.source_id.in_(keep)))
    # A curator's decision (publish, pin, hold) over the score's verdict; an opt-out over both.
    return _not_opted_out(decisions.over_article(or_(*conditions)), policy)


def _not_opted_out(published: ColumnElement[bool], policy: PublishPolicy) -> ColumnElement[bool]:
    """``published``, and the article's primary source has not opted out (``opt_out``)."""
    if not policy.opted_out:
        return published
    opted = select(Source.id).where(Source.name.in_(sorted(policy.opted_out)))
    return and_(published, Article.primary_source_id.not_in(opted))


def newest_ids(
    session: Session,
    policy: PublishPolicy,
    limit: int,
    source: str | None = None,
    tag: str | None = None,
) -> list[int]:
    """Ids of the newest ``limit`` published articles, seen at ``source`` and tagged ``tag``
    (a slug) when given; each read by an ordered walk of an index that stops when full."""
    walker = _Walker(session, policy)
    if source is None and tag is None:
        return walker.combined(limit)
    also = None
    if source is not None:
        also = session.scalar(select(Source.id).where(Source.name == source))
        if also is None:
            return []
    feed = (TAG, tag) if tag is not None else (SOURCE, str(also))
    seen_at = str(also) if tag is not None and also is not None else None
    return [mark[1] for mark in walker.walk(feed, limit, seen_at)]


@dataclass(frozen=True)
class TagFeed:
    """A tag's slug, the spelling its newest article gives it, and its newest published ids."""

    slug: str
    label: str
    ids: list[int]


def tag_feeds(session: Session, policy: PublishPolicy, limit: int) -> list[TagFeed]:
    """Every tag with a published article, by slug, with its newest ``limit`` ids."""
    walker = _Walker(session, policy)
    feeds = []
    for slug in feed_keys(session, TAG):
        marks = walker.walk((TAG, slug), limit)
        if marks:
            feeds.append(TagFeed(slug, marks[0][2] or slug, [mark[1] for mark in marks]))
    return feeds


def source_feeds(
    session: Session, policy: PublishPolicy, limit: int
) -> list[tuple[str, str | None, list[int]]]:
    """(name, title, newest ``limit`` published ids) of every stored source with any, by name."""
    walker = _Walker(session, policy)
    feeds = []
    for source_id, name, title in sorted(source_rows(session), key=lambda row: row[1]):
        ids = [mark[1] for mark in walker.walk((SOURCE, str(source_id)), limit)]
        if ids:
            feeds.append((name, title, ids))
    return feeds


def feed_keys(session: Session, kind: str) -> list[str]:
    """The distinct keys of ``kind`` rows, in order: one index probe per key (a loose index
    scan, written out, since neither SQLite nor PostgreSQL skips through an index alone)."""
    return [key for (key,) in session.execute(_DISTINCT_KEYS, {"kind": kind})]


_DISTINCT_KEYS = text(
    """
    WITH RECURSIVE keys(k) AS (
        SELECT min("key") FROM article_feeds WHERE kind = :kind
        UNION ALL
        SELECT (SELECT min(f."key") FROM article_feeds f WHERE f.kind = :kind AND f."key" > keys.k)
        FROM keys WHERE keys.k IS NOT NULL
    )
    SELECT k FROM keys WHERE k IS NOT NULL
    """
)


def change_marks(session: Session, article_ids: Sequence[int]) -> dict[int, str]:
    """For each of ``article_ids``, a short text that changes whenever its published entry can:
    its last text change and text hash, its original (source, URL, date), its licence and its
    sightings (how many, the latest). Read by id: the cost follows the ids, not the archive."""
    marks: dict[int, str] = {}
    connection = session.connection()
    for chunk in _chunks(sorted(set(article_ids))):
        seen = {
            article_id: (count, latest)
            for article_id, count, latest in connection.execute(
                select(
                    Sighting.article_id,
                    func.count(),
                    func.max(Sighting.first_seen_at, type_=UTCDateTime()),
                )
                .where(Sighting.article_id.in_(chunk))
                .group_by(Sighting.article_id)
            )
        }
        query = select(
            Article.id,
            Article.last_changed_at,
            Article.content_hash,  # text cleaned of learned boilerplate keeps its change time
            Article.primary_source_id,
            Article.canonical_url,
            Article.published_at,
            Article.licence,  # under ``republish: auto`` it decides the entry's shape
        ).where(Article.id.in_(chunk))
        for article_id, *columns in connection.execute(query):
            parts = [*columns, *seen.get(article_id, (0, None))]
            marks[article_id] = "|".join("" if part is None else str(part) for part in parts)
    return marks


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
    """(name, title) of the sources where a published article was seen, by name: per source,
    its feed rows newest first until one is published, in one statement."""
    keep = _keep_all_keys(session, policy)
    opted = _opted_out_keys(session, policy)
    rows = ArticleFeed
    has_published = _probe(
        rows.kind == SOURCE,
        rows.key == cast(Source.id, String),
        _published_row(policy.threshold, keep, rows),
        *([_not_from(opted, rows)] if opted else []),
    )
    query = select(Source.name, Source.title).where(has_published)
    if policy.opted_out:
        query = query.where(Source.name.not_in(sorted(policy.opted_out)))
    # Sorted here as the build sorts them: a PostgreSQL collation would order '-' and '_' apart.
    return sorted(((name, title) for name, title in session.execute(query)), key=lambda row: row[0])


def source_title(session: Session, name: str) -> tuple[str, str | None] | None:
    """(name, title) of the stored source called ``name``, or None."""
    row = session.execute(select(Source.name, Source.title).where(Source.name == name)).first()
    return (row[0], row[1]) if row else None


Mark = tuple[datetime | None, int, str | None]  # published_at, article id, tag label


class _Walker:
    """Newest-first walks for one policy: each statement is built once, then run per feed with
    its kind, key and limit bound (a build walks hundreds of feeds)."""

    def __init__(self, session: Session, policy: PublishPolicy) -> None:
        self.session = session
        self.keep = _keep_all_keys(session, policy)
        self.opted = _opted_out_keys(session, policy)
        statements = _walks(policy.threshold, tuple(self.keep), tuple(self.opted))
        self._every, self._published, self._seen, self._scored = statements

    def combined(self, limit: int) -> list[int]:
        """The combined feed: the newest articles over the threshold and not held (the articles
        index, walked backwards) merged with those decided published and the newest of each
        keep_all source (its feed rows, none held)."""
        marks = self._scored.run(self.session, limit, {})
        opted = [int(key) for key in self.opted]
        decided = decisions.decided_published(self.session, opted)
        marks += [(when, ident, None) for when, ident in decided]
        for key in self.keep:
            marks += self.walk((SOURCE, key), limit)
        unique = {mark[1]: mark for mark in marks}
        newest = sorted(unique.values(), key=_newest_first, reverse=True)
        return [mark[1] for mark in newest[:limit]]

    def walk(self, feed: tuple[str, str], limit: int, seen_at: str | None = None) -> list[Mark]:
        """The newest ``limit`` published rows of one feed (and seen at source ``seen_at``)."""
        kind, key = feed
        if (kind == SOURCE and key in self.opted) or seen_at in self.opted:
            return []  # a source that opted out has no feed
        parameters = {"kind": kind, "key": key}
        if seen_at is not None:
            return self._seen.run(self.session, limit, {**parameters, "seen_at": seen_at})
        whole = kind == SOURCE and key in self.keep  # a keep_all source: all of it
        walk = self._every if whole else self._published
        return walk.run(self.session, limit, parameters)


@lru_cache(maxsize=16)
def _walks(threshold: float, keep: tuple[str, ...], opted: tuple[str, ...]) -> tuple[_Ordered, ...]:
    """The walks of a policy (every row not held, published rows, published and seen at a
    source, and the articles over the threshold and not held), built once per process and
    policy. ``opted`` are the keys (source ids) of the sources that opted out: their articles
    are in no walk."""
    rows = ArticleFeed
    feed = select(rows.published_at, rows.article_id, rows.label).where(
        rows.kind == bindparam("kind"), rows.key == bindparam("key")
    )
    if opted:
        feed = feed.where(_not_from(opted, rows))
    every = feed.where(decisions.over_feed_row(rows, true()))  # all but the held
    published = feed.where(_published_row(threshold, list(keep), rows))
    there = aliased(ArticleFeed)
    seen = published.where(
        _probe(
            there.kind == SOURCE,
            there.key == bindparam("seen_at"),
            there.article_id == rows.article_id,
        )
    )
    moment, ident = rows.published_at, rows.article_id
    scored = select(Article.published_at, Article.id, null()).where(
        Article.relevance >= threshold,
        ~decisions.held(),  # the decided published: merged in
    )
    if opted:
        scored = scored.where(Article.primary_source_id.not_in([int(key) for key in opted]))
    return (
        _Ordered(every, moment, ident),
        _Ordered(published, moment, ident),
        _Ordered(seen, moment, ident),
        _Ordered(scored, Article.published_at, Article.id),
    )


class _Ordered:
    """A query's rows by ``moment`` then ``ident``, newest first, undated rows last.

    Two ordered reads (dated, then undated if still short), because PostgreSQL sorts NULL
    first in a descending index and SQLite last: this order is the same on both and matches a
    plain ascending index walked backwards.
    """

    def __init__(self, query: Any, moment: Any, ident: Any) -> None:
        limit = bindparam("limit", type_=Integer)
        self.dated = (
            query.where(moment.is_not(None)).order_by(moment.desc(), ident.desc()).limit(limit)
        )
        self.undated = query.where(moment.is_(None)).order_by(ident.desc()).limit(limit)

    def run(self, session: Session, limit: int, parameters: dict[str, Any]) -> list[Mark]:
        connection = session.connection()  # Core: no ORM machinery per walk
        rows = connection.execute(self.dated, {**parameters, "limit": limit})
        marks: list[Mark] = [(row[0], row[1], row[2]) for row in rows]
        if len(marks) < limit:
            rest = connection.execute(self.undated, {**parameters, "limit": limit - len(marks)})
            marks += [(row[0], row[1], row[2]) for row in rest]
        return marks


def _published_row(
    threshold: float, keep: list[str], rows: type[ArticleFeed] | Any
) -> ColumnElement[bool]:
    """A feed row's article is published: over the threshold, or seen at a keep_all source;
    either way, unless a curator decided otherwise (the row's copy of the decision)."""
    by_score = rows.relevance >= threshold
    if keep:
        kept = aliased(ArticleFeed)
        by_score = or_(
            by_score,
            _probe(kept.kind == SOURCE, kept.key.in_(keep), kept.article_id == rows.article_id),
        )
    return decisions.over_feed_row(rows, by_score)


def _not_from(opted: Sequence[str], rows: type[ArticleFeed] | Any) -> ColumnElement[bool]:
    """A feed row's article does not have one of the ``opted`` sources as its primary: one
    primary-key probe of ``articles`` per row read."""
    sources = [int(key) for key in opted]
    primary = (
        select(literal(1))
        .where(Article.id == rows.article_id, Article.primary_source_id.in_(sources))
        .offset(0)
    )
    return ~primary.exists()


def _probe(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS (a row of ``article_feeds`` meeting ``conditions``), looked up per outer row.

    The ``OFFSET 0`` keeps PostgreSQL from turning the EXISTS into a hashed subplan or a join,
    either of which reads every row of the source it asks about (all of a keep_all source's
    articles) before the walk returns its first row; per row, it is one primary-key probe.
    """
    return select(literal(1)).where(*conditions).offset(0).exists()


def _newest_first(mark: Mark) -> tuple[bool, datetime, int]:
    return (mark[0] is not None, mark[0] or _NEVER, mark[1])


_NEVER = datetime.min.replace(tzinfo=UTC)


def _keep_all_keys(session: Session, policy: PublishPolicy) -> list[str]:
    """The feed keys (source ids) of the keep_all sources that are stored (and not opted out)."""
    return _keys_of(session, policy.keep_all - policy.opted_out)


def _opted_out_keys(session: Session, policy: PublishPolicy) -> list[str]:
    """The feed keys (source ids) of the stored sources that opted out."""
    return _keys_of(session, policy.opted_out)


def _keys_of(session: Session, names: frozenset[str]) -> list[str]:
    if not names:
        return []
    query = select(Source.id).where(Source.name.in_(sorted(names))).order_by(Source.id)
    return [str(source_id) for source_id in session.scalars(query)]


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
        Article.licence,
    )


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


# --- the archive: every published article of a feed, and what its pages need ----------------

# A walk's limit when the archive asks for all of a feed: larger than any archive.
_EVERY_ROW = 2**31 - 1


def every_published(
    session: Session, policy: PublishPolicy, kinds: Sequence[str] = (SOURCE, TAG)
) -> list[tuple[str, str, list[Mark]]]:
    """(kind, key, marks newest first) of every feed of ``kinds`` with published articles: all
    of them, not the newest few. One loose index scan for the keys of each kind, then one
    ordered walk of the feed index per key; the cost follows the published articles."""
    walker = _Walker(session, policy)
    feeds = []
    for kind in kinds:
        for key in feed_keys(session, kind):
            marks = walker.walk((kind, key), _EVERY_ROW)
            if marks:
                feeds.append((kind, key, marks))
    return feeds


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A published article's row in one source's or tag's feed."""

    kind: str
    key: str
    article_id: int
    published_at: datetime | None
    label: str | None


def published_rows(
    session: Session, policy: PublishPolicy, article_ids: Sequence[int]
) -> list[FeedRow]:
    """The feed rows of ``article_ids`` that the walks of ``every_published`` would read: the
    same published-row condition and opt-outs, read by article id rather than by feed."""
    opted = _opted_out_keys(session, policy)
    keep = _keep_all_keys(session, policy)
    rows = ArticleFeed
    query = select(rows.kind, rows.key, rows.article_id, rows.published_at, rows.label).where(
        _published_row(policy.threshold, keep, rows)
    )
    if opted:
        query = query.where(_not_from(opted, rows), ~and_(rows.kind == SOURCE, rows.key.in_(opted)))
    found: list[FeedRow] = []
    connection = session.connection()
    for chunk in _chunks(sorted(set(article_ids))):
        chunked = query.where(rows.article_id.in_(chunk))
        found += (FeedRow(*row) for row in connection.execute(chunked))
    return found


def published_among(session: Session, policy: PublishPolicy, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are published now: read by key."""
    found: set[int] = set()
    connection = session.connection()
    for chunk in _chunks(sorted(set(ids))):
        query = select(Article.id).where(Article.id.in_(chunk), published_filter(policy))
        found.update(connection.execute(query).scalars())
    return found


def listing_dates(session: Session, article_ids: Sequence[int]) -> dict[int, datetime]:
    """Each article's date as published entries show it (``published_at``, else when it was
    first seen): what files it under a month. Read by id."""
    dates: dict[int, datetime] = {}
    connection = session.connection()
    for chunk in _chunks(sorted(set(article_ids))):
        query = select(Article.id, Article.published_at, Article.first_seen_at).where(
            Article.id.in_(chunk)
        )
        for article_id, published_at, first_seen_at in connection.execute(query):
            dates[article_id] = published_at or first_seen_at
    return dates


@dataclass(frozen=True, slots=True)
class SourceDetails:
    id: int
    name: str
    title: str | None
    homepage: str
    feed_url: str | None


def source_details(session: Session) -> list[SourceDetails]:
    """Every stored source with its homepage and feed, by name (the sources table is small)."""
    query = select(Source.id, Source.name, Source.title, Source.homepage, Source.feed_url)
    rows = [SourceDetails(*row) for row in session.execute(query)]
    return sorted(rows, key=lambda row: row.name)
