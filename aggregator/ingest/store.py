"""Store candidates once: dedup against what is stored, then insert, update or add a sighting.

Dedup order: the GUID within the source, the URL (the page's own or its declared canonical),
the exact content hash, then near-duplicates across sources (SimHash within a few bits, with
agreeing titles and authors). The first two find the same item again (unchanged or updated);
the last two find another copy of it (a new sighting; the earliest copy is the primary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from aggregator.fingerprints import (
    NEAR_DUPLICATE_DISTANCE,
    authors_agree,
    hamming,
    simhash_bands,
    titles_agree,
)
from aggregator.ingest.prepare import Candidate
from aggregator.storage.models import Article, BlockSighting, Sighting, SimhashBand
from aggregator.storage.upsert import upsert


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


class MatchKind(StrEnum):
    GUID = "guid"
    URL = "url"
    CONTENT = "content"
    NEAR = "near"


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    article_id: int
    match: MatchKind | None = None


def save_candidate(session: Session, candidate: Candidate, source_id: int, now: datetime) -> Saved:
    """Store ``candidate`` (one item of source ``source_id``) and say what happened."""
    same_item = _by_guid(session, candidate, source_id) or _by_url(session, candidate, source_id)
    if same_item is not None:
        article, kind = same_item
        outcome = _refresh(session, article, candidate, now)
        _record_sighting(session, article.id, candidate, source_id, now)
        return Saved(outcome, article.id, kind)
    copy = _by_content(session, candidate) or _by_near_duplicate(session, candidate)
    if copy is not None:
        article, kind = copy
        _prefer_earliest(article, candidate, source_id)
        _record_sighting(session, article.id, candidate, source_id, now)
        return Saved(Outcome.DUPLICATE, article.id, kind)
    article = _insert(session, candidate, source_id, now)
    _record_sighting(session, article.id, candidate, source_id, now)
    return Saved(Outcome.NEW, article.id)


# --- finding ---------------------------------------------------------------------------------


def _by_guid(
    session: Session, candidate: Candidate, source_id: int
) -> tuple[Article, MatchKind] | None:
    if not candidate.guid:
        return None
    query = (
        select(Article)
        .join(Sighting, Sighting.article_id == Article.id)
        .where(Sighting.source_id == source_id, Sighting.guid == candidate.guid)
        .limit(1)
    )
    article = session.scalars(query).first()
    return (article, MatchKind.GUID) if article else None


def _by_url(
    session: Session, candidate: Candidate, source_id: int
) -> tuple[Article, MatchKind] | None:
    urls = {candidate.url, candidate.canonical_url}
    article = session.scalars(select(Article).where(Article.canonical_url.in_(urls))).first()
    if article is None:
        query = (
            select(Article)
            .join(Sighting, Sighting.article_id == Article.id)
            .where(Sighting.source_id == source_id, Sighting.url.in_(urls))
            .limit(1)
        )
        article = session.scalars(query).first()
    return (article, MatchKind.URL) if article else None


def _by_content(session: Session, candidate: Candidate) -> tuple[Article, MatchKind] | None:
    query = select(Article).where(Article.content_hash == candidate.content_hash).limit(1)
    article = session.scalars(query).first()
    return (article, MatchKind.CONTENT) if article else None


def _by_near_duplicate(session: Session, candidate: Candidate) -> tuple[Article, MatchKind] | None:
    bands = list(enumerate(simhash_bands(candidate.simhash)))
    sharing = (
        select(SimhashBand.article_id)
        .where(tuple_(SimhashBand.band, SimhashBand.value).in_(bands))
        .distinct()
    )
    close = [
        article_id
        for article_id, value in session.execute(
            select(Article.id, Article.simhash).where(Article.id.in_(sharing))
        ).all()
        if value is not None and hamming(value, candidate.simhash) <= NEAR_DUPLICATE_DISTANCE
    ]
    for article in session.scalars(select(Article).where(Article.id.in_(close))):
        if titles_agree(article.title, candidate.title) and authors_agree(
            article.author, candidate.author
        ):
            return article, MatchKind.NEAR
    return None


# --- writing ---------------------------------------------------------------------------------


def _insert(session: Session, candidate: Candidate, source_id: int, now: datetime) -> Article:
    article = Article(
        canonical_url=candidate.canonical_url,
        guid=candidate.guid,
        primary_source_id=source_id,
        first_seen_at=now,
        last_changed_at=now,
        date_estimated=candidate.date_estimated,
        published_at=candidate.published_at,
        **_content_fields(candidate),
    )
    session.add(article)
    session.flush()
    _write_fingerprints(session, article.id, candidate, source_id)
    return article


def _refresh(session: Session, article: Article, candidate: Candidate, now: datetime) -> Outcome:
    """The same item seen again: update it when its text changed."""
    if article.content_hash == candidate.content_hash:
        return Outcome.UNCHANGED
    for name, value in _content_fields(candidate).items():
        setattr(article, name, value)
    article.updated_at = candidate.updated_at or now
    article.last_changed_at = now
    if article.date_estimated and not candidate.date_estimated:
        article.published_at = candidate.published_at
        article.date_estimated = False
    session.execute(delete(SimhashBand).where(SimhashBand.article_id == article.id))
    session.execute(delete(BlockSighting).where(BlockSighting.article_id == article.id))
    _write_fingerprints(session, article.id, candidate, article.primary_source_id)
    return Outcome.UPDATED


def _content_fields(candidate: Candidate) -> dict[str, object]:
    return {
        "title": candidate.title,
        "author": candidate.author,
        "text": candidate.text,
        "html": candidate.html,
        "language": candidate.language,
        "tags": list(candidate.tags),
        "word_count": candidate.word_count,
        "content_hash": candidate.content_hash,
        "simhash": candidate.simhash,
        "relevance": candidate.relevance.score,
        "matched_terms": dict(candidate.relevance.matched),
    }


def _prefer_earliest(article: Article, candidate: Candidate, source_id: int) -> None:
    """Another copy: when it is older than what we hold, it is the original and the primary."""
    if candidate.date_estimated or article.published_at is None:
        return
    if article.date_estimated or candidate.published_at < article.published_at:
        # The copy's canonical URL is free: the URL lookup found no article under it.
        article.primary_source_id = source_id
        article.canonical_url = candidate.canonical_url
        article.published_at = candidate.published_at
        article.date_estimated = False


def _record_sighting(
    session: Session, article_id: int, candidate: Candidate, source_id: int, now: datetime
) -> None:
    row = {
        "article_id": article_id,
        "source_id": source_id,
        "url": candidate.url,
        "guid": candidate.guid,
        "first_seen_at": now,
        "last_seen_at": now,
    }
    upsert(
        session,
        Sighting.__table__,  # type: ignore[arg-type]
        [row],
        key=["source_id", "url"],
        update=["article_id", "guid", "last_seen_at"],
    )


def _write_fingerprints(
    session: Session, article_id: int, candidate: Candidate, source_id: int
) -> None:
    session.add_all(
        SimhashBand(article_id=article_id, band=band, value=value)
        for band, value in enumerate(simhash_bands(candidate.simhash))
    )
    author = (candidate.author or "").casefold() or None
    fingerprints = {block.fingerprint for block in candidate.blocks}
    session.add_all(
        BlockSighting(
            source_id=source_id, fingerprint=fingerprint, article_id=article_id, author=author
        )
        for fingerprint in fingerprints
    )


def urls_known(session: Session, urls: list[str]) -> set[str]:
    """Which of ``urls`` (normalised) are already stored, as a page or as a canonical URL."""
    seen = set(session.scalars(select(Sighting.url).where(Sighting.url.in_(urls))))
    seen |= set(
        session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(urls)))
    )
    return seen
