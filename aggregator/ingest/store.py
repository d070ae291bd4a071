"""Store candidates once: dedup against what is stored, then insert, update or add a sighting.

Dedup order: the GUID within the source, the URL (the page's own or its declared canonical),
the exact content hash, then near-duplicates across sources (SimHash within a few bits, with
agreeing titles and authors). The first two find the same item again (unchanged or updated);
the last two find another copy of it (a new sighting; the earliest copy is the primary).

The common paths (a new article, an unchanged one) use a handful of Core statements; the ORM
is used only where an existing article changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, delete, insert, or_, select, tuple_, union, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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

ARTICLES = cast(Table, Article.__table__)
SIGHTINGS = cast(Table, Sighting.__table__)
BANDS = cast(Table, SimhashBand.__table__)
BLOCKS = cast(Table, BlockSighting.__table__)


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


class MatchKind(StrEnum):
    SAME = "same"  # the GUID or URL of an item already stored
    CONTENT = "content"
    NEAR = "near"


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    article_id: int
    match: MatchKind | None = None


def save_candidate(session: Session, candidate: Candidate, source_id: int, now: datetime) -> Saved:
    """Store ``candidate`` (one item of source ``source_id``) and say what happened."""
    same = _same_item(session, candidate, source_id)
    if same is not None:
        article_id, stored_hash = same
        outcome = Outcome.UNCHANGED
        if stored_hash != candidate.content_hash:
            _update_text(session, article_id, candidate, now)
            outcome = Outcome.UPDATED
        _record_sighting(session, article_id, candidate, source_id, now)
        return Saved(outcome, article_id, MatchKind.SAME)
    copy = _by_content(session, candidate) or _by_near_duplicate(session, candidate)
    if copy is not None:
        article_id, kind = copy
        _prefer_earliest(session, article_id, candidate, source_id)
        _record_sighting(session, article_id, candidate, source_id, now)
        return Saved(Outcome.DUPLICATE, article_id, kind)
    return Saved(Outcome.NEW, _insert(session, candidate, source_id, now))


# --- finding ---------------------------------------------------------------------------------


def _same_item(session: Session, candidate: Candidate, source_id: int) -> tuple[int, str] | None:
    """The stored article this item already is: by GUID or URL at this source, or by URL."""
    urls = list({candidate.url, candidate.canonical_url})
    at_source: list[ColumnElement[bool]] = [Sighting.url.in_(urls)]
    if candidate.guid:
        at_source.append(Sighting.guid == candidate.guid)
    matches = union(
        select(Article.id).where(Article.canonical_url.in_(urls)),
        select(Sighting.article_id).where(Sighting.source_id == source_id, or_(*at_source)),
    ).subquery()
    query = select(Article.id, Article.content_hash).where(Article.id.in_(select(matches)))
    row = session.execute(query.order_by(Article.id).limit(1)).first()
    return (row[0], row[1]) if row else None


def _by_content(session: Session, candidate: Candidate) -> tuple[int, MatchKind] | None:
    query = select(Article.id).where(Article.content_hash == candidate.content_hash).limit(1)
    article_id = session.scalar(query)
    return (article_id, MatchKind.CONTENT) if article_id is not None else None


def _by_near_duplicate(session: Session, candidate: Candidate) -> tuple[int, MatchKind] | None:
    bands = list(enumerate(simhash_bands(candidate.simhash)))
    sharing = select(SimhashBand.article_id).where(
        tuple_(SimhashBand.band, SimhashBand.value).in_(bands)
    )
    rows = session.execute(
        select(Article.id, Article.simhash, Article.title, Article.author).where(
            Article.id.in_(sharing)
        )
    ).all()
    for article_id, value, title, author in sorted(rows):
        if value is None or hamming(value, candidate.simhash) > NEAR_DUPLICATE_DISTANCE:
            continue
        if titles_agree(title, candidate.title) and authors_agree(author, candidate.author):
            return article_id, MatchKind.NEAR
    return None


# --- writing ---------------------------------------------------------------------------------


def _insert(session: Session, candidate: Candidate, source_id: int, now: datetime) -> int:
    row = {
        "canonical_url": candidate.canonical_url,
        "guid": candidate.guid,
        "primary_source_id": source_id,
        "first_seen_at": now,
        "last_changed_at": now,
        "date_estimated": candidate.date_estimated,
        "published_at": candidate.published_at,
        "updated_at": None,
        **_content_fields(candidate),
    }
    article_id: int = session.execute(insert(ARTICLES).returning(ARTICLES.c.id), row).scalar_one()
    session.execute(
        insert(SIGHTINGS),
        {
            "article_id": article_id,
            "source_id": source_id,
            "url": candidate.url,
            "guid": candidate.guid,
            "first_seen_at": now,
            "last_seen_at": now,
        },
    )
    _write_fingerprints(session, article_id, candidate, source_id)
    return article_id


def _update_text(session: Session, article_id: int, candidate: Candidate, now: datetime) -> None:
    """The same item with new text: update it in place, fingerprints included."""
    article = session.get_one(Article, article_id)
    for name, value in _content_fields(candidate).items():
        setattr(article, name, value)
    article.updated_at = candidate.updated_at or now
    article.last_changed_at = now
    if article.date_estimated and not candidate.date_estimated:
        article.published_at = candidate.published_at
        article.date_estimated = False
    session.execute(delete(SimhashBand).where(SimhashBand.article_id == article_id))
    session.execute(delete(BlockSighting).where(BlockSighting.article_id == article_id))
    _write_fingerprints(session, article_id, candidate, article.primary_source_id)


def _content_fields(candidate: Candidate) -> dict[str, Any]:
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


def _prefer_earliest(
    session: Session, article_id: int, candidate: Candidate, source_id: int
) -> None:
    """Another copy: when it is older than what we hold, it is the original and the primary."""
    if candidate.date_estimated:
        return
    article = session.get_one(Article, article_id)
    if article.published_at is None:
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
    seen = (
        update(SIGHTINGS)
        .where(SIGHTINGS.c.source_id == source_id, SIGHTINGS.c.url == candidate.url)
        .values(article_id=article_id, guid=candidate.guid, last_seen_at=now)
    )
    if session.execute(seen).rowcount:  # type: ignore[attr-defined]
        return
    upsert(
        session,
        SIGHTINGS,
        [
            {
                "article_id": article_id,
                "source_id": source_id,
                "url": candidate.url,
                "guid": candidate.guid,
                "first_seen_at": now,
                "last_seen_at": now,
            }
        ],
        key=["source_id", "url"],
        update=["article_id", "guid", "last_seen_at"],
    )


def _write_fingerprints(
    session: Session, article_id: int, candidate: Candidate, source_id: int
) -> None:
    session.execute(
        insert(BANDS),
        [
            {"article_id": article_id, "band": band, "value": value}
            for band, value in enumerate(simhash_bands(candidate.simhash))
        ],
    )
    author = (candidate.author or "").casefold() or None
    fingerprints = sorted({block.fingerprint for block in candidate.blocks})
    if fingerprints:
        session.execute(
            insert(BLOCKS),
            [
                {
                    "source_id": source_id,
                    "fingerprint": fingerprint,
                    "article_id": article_id,
                    "author": author,
                }
                for fingerprint in fingerprints
            ],
        )
