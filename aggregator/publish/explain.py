"""What was collected, and why each article is published or held back: ``mutualaid articles``.

Reads only. An article is published by the same rule as the feeds (``select.published_filter``);
the reason given is the one that decided it: its score against the threshold, or a source that
keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from aggregator.normalize import canonical_url
from aggregator.publish.select import PublishPolicy, published_filter
from aggregator.relevance import TopicProfile
from aggregator.storage.models import Article, Boilerplate, Sighting, Source

State = Literal["published", "held", "all"]


@dataclass(frozen=True)
class ArticleQuery:
    source: str | None = None  # seen at this source (as the original or a copy)
    state: State = "all"
    since: datetime | None = None  # published at or after
    limit: int = 50


@dataclass(frozen=True)
class ArticleLine:
    """One stored article as ``articles`` lists it."""

    id: int
    published_at: datetime | None
    source: str
    title: str
    url: str
    words: int
    score: float | None
    published: bool
    reason: str  # why it is published, or why not


@dataclass(frozen=True)
class TermMatch:
    term: str
    count: int
    weight: float | None  # None: no longer in the topic profile


@dataclass(frozen=True)
class SightingLine:
    source: str
    url: str
    first_seen_at: datetime
    last_seen_at: datetime
    matched_by: str  # "original", or how dedup found this copy to be the article


@dataclass(frozen=True)
class ArticleReport:
    """Everything ``articles show`` explains about one article."""

    line: ArticleLine
    author: str | None
    language: str | None
    tags: list[str]
    date_estimated: bool
    first_seen_at: datetime
    last_changed_at: datetime
    extracted_from: str | None  # "page" or "feed content"; None when stored before it was noted
    rules_applied: list[str]
    learned_removed: list[str]  # the texts of learned boilerplate blocks dropped
    threshold: float
    keep_all: bool
    terms: list[TermMatch]
    sightings: list[SightingLine] = field(default_factory=list)


def list_articles(
    session: Session, policy: PublishPolicy, query: ArticleQuery
) -> list[ArticleLine]:
    """Stored articles, newest first, filtered as ``query`` asks."""
    published = published_filter(policy)
    statement = _lines(published).where(*_filters(published, query))
    statement = statement.order_by(
        Article.published_at.desc().nulls_last(), Article.id.desc()
    ).limit(query.limit)
    return [_line(row, policy) for row in session.execute(statement)]


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


def explain_article(
    session: Session, policy: PublishPolicy, profile: TopicProfile, article_id: int
) -> ArticleReport | None:
    """The whole story of one stored article, or None when there is no such article."""
    row = session.execute(_lines(published_filter(policy)).where(Article.id == article_id)).first()
    article = session.get(Article, article_id)
    if row is None or article is None:
        return None
    line = _line(row, policy)
    notes: dict[str, Any] = dict(article.extraction or {})
    return ArticleReport(
        line=line,
        author=article.author,
        language=article.language,
        tags=list(article.tags or []),
        date_estimated=article.date_estimated,
        first_seen_at=article.first_seen_at,
        last_changed_at=article.last_changed_at,
        extracted_from=notes.get("from"),
        rules_applied=list(notes.get("rules") or []),
        learned_removed=_learned_texts(
            session, article.primary_source_id, notes.get("learned_removed") or []
        ),
        threshold=policy.threshold,
        keep_all=line.published and not _scored_in(line.score, policy),
        terms=_terms(article.matched_terms or {}, profile),
        sightings=_sightings(session, article_id),
    )


def _lines(
    published: ColumnElement[bool],
) -> Select[int, datetime | None, str, str, str, int, float | None, bool]:
    """The columns of a line; ``published`` is the feeds' own condition, asked of the database
    (an article seen at a source that keeps everything is published whatever its score)."""
    return select(
        Article.id,
        Article.published_at,
        Source.name,
        Article.title,
        Article.canonical_url,
        Article.word_count,
        Article.relevance,
        published,
    ).join(Source, Source.id == Article.primary_source_id)


def _filters(published: Any, query: ArticleQuery) -> list[Any]:
    where: list[Any] = []
    if query.state == "published":
        where.append(published)
    elif query.state == "held":
        where.append(published.is_not(True))  # NULL (no score, no keep-all source) included
    if query.since is not None:
        where.append(Article.published_at >= query.since)
    if query.source is not None:
        seen_there = (
            select(Sighting.id)
            .join(Source, Source.id == Sighting.source_id)
            .where(Sighting.article_id == Article.id, Source.name == query.source)
        )
        where.append(seen_there.exists())
    return where


def _line(row: Any, policy: PublishPolicy) -> ArticleLine:
    article_id, published_at, source, title, url, words, score, published = row
    reason = _reason(score, bool(published), policy)
    return ArticleLine(
        article_id, published_at, source, title, url, words, score, bool(published), reason
    )


def _scored_in(score: float | None, policy: PublishPolicy) -> bool:
    return score is not None and score >= policy.threshold


def _reason(score: float | None, published: bool, policy: PublishPolicy) -> str:
    """Why the article is published or not, in a few words."""
    if _scored_in(score, policy):
        return f"score {score:.1f} ≥ {policy.threshold:g}"
    if published:
        return "seen at a source that keeps all"
    if score is None:
        return "not scored"
    return f"score {score:.1f} < {policy.threshold:g}"


def _terms(matched: dict[str, Any], profile: TopicProfile) -> list[TermMatch]:
    found = [
        TermMatch(term, int(count), profile.terms.get(term))
        for term, count in matched.items()
        if isinstance(count, int | float)
    ]
    return sorted(found, key=lambda match: (-(match.weight or 0) * match.count, match.term))


def _learned_texts(session: Session, source_id: int, fingerprints: list[str]) -> list[str]:
    if not fingerprints:
        return []
    query = select(Boilerplate.fingerprint, Boilerplate.text).where(
        Boilerplate.source_id == source_id, Boilerplate.fingerprint.in_(fingerprints)
    )
    texts = dict(session.execute(query).all())
    return [texts.get(fingerprint, f"(block {fingerprint})") for fingerprint in fingerprints]


def _sightings(session: Session, article_id: int) -> list[SightingLine]:
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
    rows = session.execute(query).all()
    return [
        SightingLine(name, url, first, last, _match_label(matched_by, first_row=index == 0))
        for index, (name, url, first, last, matched_by) in enumerate(rows)
    ]


_MATCHES = {
    "same": "same GUID or URL",
    "content": "same text (an exact copy)",
    "near": "near-duplicate text with the same title and author",
}


def _match_label(matched_by: str | None, *, first_row: bool) -> str:
    """How a sighting joined its article; the first one without a match created it (sightings
    stored before matches were recorded have none either)."""
    if matched_by:
        return _MATCHES.get(matched_by, matched_by)
    return "first seen here" if first_row else "not recorded"
