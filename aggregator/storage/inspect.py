"""Reads behind ``mutualaid articles``: stored articles with whether each is published, one
article whole, its sightings and the learned boilerplate dropped from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from aggregator.normalize import canonical_url
from aggregator.storage.models import Article, Boilerplate, Decision, Sighting, Source
from aggregator.storage.published import PublishPolicy, published_filter

State = Literal["published", "held", "all"]


@dataclass(frozen=True)
class ArticleQuery:
    source: str | None = None  # seen at this source (as the original or a copy)
    state: State = "all"
    since: datetime | None = None  # published at or after
    limit: int = 50


@dataclass(frozen=True)
class LineRow:
    """One stored article as a list shows it; ``published`` is the feeds' own condition."""

    id: int
    published_at: datetime | None
    source: str
    title: str
    url: str
    words: int
    score: float | None
    published: bool
    decision: str | None  # a curator's publish, hold or pin, over the score


@dataclass(frozen=True)
class SightingRecord:
    source: str
    url: str
    first_seen_at: datetime
    last_seen_at: datetime
    matched_by: str | None


def article_lines(session: Session, policy: PublishPolicy, query: ArticleQuery) -> list[LineRow]:
    """Stored articles, newest first, filtered as ``query`` asks."""
    published = published_filter(policy)
    statement = _lines(published).where(*_filters(published, query))
    statement = statement.order_by(
        Article.published_at.desc().nulls_last(), Article.id.desc()
    ).limit(query.limit)
    return [_line(row) for row in session.execute(statement)]


def article_line(session: Session, policy: PublishPolicy, article_id: int) -> LineRow | None:
    row = session.execute(_lines(published_filter(policy)).where(Article.id == article_id)).first()
    return None if row is None else _line(row)


@dataclass(frozen=True)
class ScoredRow:
    """An article as ``review`` lists it."""

    id: int
    score: float
    title: str
    source: str
    published_at: datetime | None
    matched_terms: dict[str, Any]
    decision: str | None


def scored_between(
    session: Session,
    low: float,
    high: float | None,
    *,
    lowest_first: bool,
    published: tuple[PublishPolicy, bool] | None = None,
    source: str | None = None,
    limit: int = 20,
) -> list[ScoredRow]:
    """Articles scored in ``[low, high)`` (no upper bound when ``high`` is None), seen at
    ``source`` when given, by score (then newest first); with ``published`` (a policy, and
    whether published or not), only those the policy publishes, or only those it does not."""
    where = [Article.relevance >= low]
    if published is not None:
        policy, wanted = published
        where.append(published_filter(policy) if wanted else ~published_filter(policy))
    if high is not None:
        where.append(Article.relevance < high)
    if source is not None:
        where.append(_seen_at(source))
    by_score = Article.relevance.asc() if lowest_first else Article.relevance.desc()
    query = (
        select(
            Article.id,
            Article.relevance,
            Article.title,
            Source.name,
            Article.published_at,
            Article.matched_terms,
            Decision.decision,
        )
        .join(Source, Source.id == Article.primary_source_id)
        .outerjoin(Decision, Decision.article_id == Article.id)
        .where(*where)
        .order_by(by_score, Article.published_at.desc().nulls_last(), Article.id.desc())
        .limit(limit)
    )
    return [
        ScoredRow(article_id, score, title, name, when, dict(terms or {}), decision)
        for article_id, score, title, name, when, terms, decision in session.execute(query)
    ]


def article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def article_html(session: Session, article_id: int) -> str | None:
    """The article's stored (sanitised) HTML, decompressed: on SQLite the column holds zlib."""
    return session.scalar(select(Article.html).where(Article.id == article_id))


def find_article(session: Session, key: str) -> int | None:
    """The id of the article ``key`` names: its id, its URL, or the URL of any sighting of it."""
    if key.isdigit():
        return session.scalar(select(Article.id).where(Article.id == int(key)))
    try:
        url = canonical_url(key)
    except ValueError:
        return None
    found = session.scalar(select(Article.id).where(Article.canonical_url.in_([url, key])))
    if found is None:
        seen = select(Sighting.article_id).where(Sighting.url.in_([url, key])).limit(1)
        found = session.scalar(seen)
    return found


def boilerplate_texts(session: Session, source_id: int, fingerprints: list[str]) -> dict[str, str]:
    """The texts of the learned blocks ``fingerprints`` of a source, by fingerprint."""
    if not fingerprints:
        return {}
    query = select(Boilerplate.fingerprint, Boilerplate.text).where(
        Boilerplate.source_id == source_id, Boilerplate.fingerprint.in_(fingerprints)
    )
    return {str(fingerprint): str(text) for fingerprint, text in session.execute(query)}


def sightings(session: Session, article_id: int) -> list[SightingRecord]:
    """Every sighting of an article, the first first."""
    query = (
        select(
            Source.name,
            Sighting.url,
            Sighting.first_seen_at,
            Sighting.last_seen_at,
            Sighting.matched_by,
        )
        .join(Source, Source.id == Sighting.source_id)
        .where(Sighting.article_id == article_id)
        .order_by(Sighting.first_seen_at, Sighting.id)
    )
    return [SightingRecord(*row) for row in session.execute(query)]


def _lines(
    published: ColumnElement[bool],
) -> Select[int, datetime | None, str, str, str, int, float | None, bool, str | None]:
    """The columns of a line; ``published`` is the feeds' own condition, asked of the database
    (an article seen at a source that keeps everything is published whatever its score)."""
    return (
        select(
            Article.id,
            Article.published_at,
            Source.name,
            Article.title,
            Article.canonical_url,
            Article.word_count,
            Article.relevance,
            published,
            Decision.decision,
        )
        .join(Source, Source.id == Article.primary_source_id)
        .outerjoin(Decision, Decision.article_id == Article.id)
    )


def _line(row: Any) -> LineRow:
    article_id, published_at, source, title, url, words, score, published, decision = row
    return LineRow(
        article_id, published_at, source, title, url, words, score, bool(published), decision
    )


def _filters(published: Any, query: ArticleQuery) -> list[Any]:
    where: list[Any] = []
    if query.state == "published":
        where.append(published)
    elif query.state == "held":
        where.append(published.is_not(True))  # NULL (no score, no keep-all source) included
    if query.since is not None:
        where.append(Article.published_at >= query.since)
    if query.source is not None:
        where.append(_seen_at(query.source))
    return where


def _seen_at(source: str) -> ColumnElement[bool]:
    """The article was seen at ``source`` (as the original or a copy)."""
    seen_there = (
        select(Sighting.id)
        .join(Source, Source.id == Sighting.source_id)
        .where(Sighting.article_id == Article.id, Source.name == source)
    )
    return seen_there.exists()
