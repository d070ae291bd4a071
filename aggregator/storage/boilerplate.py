"""Learned boilerplate: short blocks recurring across a source's articles, in the database.

Every short block of a stored article is remembered by fingerprint. A block seen in at least
``min_articles`` articles written by at least ``min_authors`` different authors (or in a source
that names no authors) is learned: later extractions drop it, and articles stored before are
cleaned of it. Requiring several authors keeps each writer's own bio, which recurs under their
articles and nowhere else.

A block must recur within the learning window: the sightings of articles first seen before it
are forgotten (``forget_old_blocks``, before each batch learns), and so are the sightings of a
block once it is learned (``strip_learned``). Neither can make a block boilerplate any more, and
together they were most of the table: every article leaves its own few edge blocks, which never
recur.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from aggregator.extract.article import NO_TEXT_LABEL, stored_blocks, strip_blocks
from aggregator.fingerprints import simhash_bands
from aggregator.ingest.fields import derive_text_fields
from aggregator.ingest.prepare import with_learned_removed
from aggregator.relevance import TopicProfile
from aggregator.storage import article_feeds
from aggregator.storage.horizon import forget_aged
from aggregator.storage.models import Article, BlockSighting, Boilerplate, SimhashBand


@dataclass(frozen=True)
class Suggestion:
    """A recurring block, learned or close to it, with a rule a person could adopt instead."""

    text: str
    articles: int
    authors: int
    learned: bool

    @property
    def has_text(self) -> bool:
        """False for a block of icons or links only, which no ``drop_phrases`` rule can match."""
        return not self.text.startswith(NO_TEXT_LABEL)


def learned_fingerprints(session: Session, source_id: int) -> frozenset[str]:
    query = select(Boilerplate.fingerprint).where(Boilerplate.source_id == source_id)
    return frozenset(session.scalars(query))


def learn_boilerplate(
    session: Session,
    source_id: int,
    texts: Mapping[str, str],
    *,
    min_articles: int,
    min_authors: int,
    now: datetime,
) -> list[str]:
    """Learn which of the blocks just seen (``texts``: fingerprint → text) are boilerplate."""
    if not texts:
        return []
    known = learned_fingerprints(session, source_id)
    new: list[str] = []
    for fingerprint, articles, authors in _block_counts(session, source_id, list(texts)):
        if fingerprint in known or articles < min_articles:
            continue
        if authors >= min_authors or authors == 0:
            session.add(
                Boilerplate(
                    source_id=source_id,
                    fingerprint=fingerprint,
                    text=texts[fingerprint],
                    articles=articles,
                    authors=authors,
                    learned_at=now,
                )
            )
            new.append(fingerprint)
    return new


def _block_counts(
    session: Session, source_id: int, fingerprints: Collection[str] | None = None
) -> list[tuple[str, int, int]]:
    query = (
        select(
            BlockSighting.fingerprint,
            func.count(func.distinct(BlockSighting.article_id)),
            func.count(func.distinct(BlockSighting.author)),
        )
        .where(BlockSighting.source_id == source_id)
        .group_by(BlockSighting.fingerprint)
    )
    if fingerprints is not None:
        query = query.where(BlockSighting.fingerprint.in_(list(fingerprints)))
    return [(row[0], row[1], row[2]) for row in session.execute(query).all()]


def strip_learned(
    session: Session, source_id: int, fingerprints: Collection[str], profile: TopicProfile
) -> int:
    """Clean already-stored articles of newly learned blocks; return how many changed."""
    if not fingerprints:
        return 0
    holders = (
        select(BlockSighting.article_id)
        .where(
            BlockSighting.source_id == source_id,
            BlockSighting.fingerprint.in_(list(fingerprints)),
        )
        .distinct()
    )
    held = select(BlockSighting.article_id, BlockSighting.fingerprint).where(
        BlockSighting.source_id == source_id, BlockSighting.fingerprint.in_(list(fingerprints))
    )
    blocks_of: dict[int, set[str]] = {}
    for article_id, fingerprint in session.execute(held):
        blocks_of.setdefault(article_id, set()).add(fingerprint)
    changed: dict[int, int] = {}  # article id: its new SimHash
    for article in session.scalars(select(Article).where(Article.id.in_(holders))):
        html, text = strip_blocks(article.html, fingerprints)
        if text == article.text:
            continue
        changed[article.id] = _replace_text(article, html, text, profile)
        article.extraction = with_learned_removed(article.extraction, blocks_of[article.id])
    forget_blocks(session, source_id, fingerprints)
    if changed:  # their bands in two statements, not two per article
        session.execute(delete(SimhashBand).where(SimhashBand.article_id.in_(list(changed))))
        session.add_all(
            SimhashBand(article_id=article_id, band=band, value=value)
            for article_id, article_simhash in changed.items()
            for band, value in enumerate(simhash_bands(article_simhash))
        )
        session.flush()
        article_feeds.refresh(session, sorted(changed))  # their scores changed with the text
    return len(changed)


def forget_blocks(session: Session, source_id: int, fingerprints: Collection[str]) -> None:
    """Forget where learned blocks were seen: the articles are clean, the block is known."""
    session.execute(
        delete(BlockSighting).where(
            BlockSighting.source_id == source_id, BlockSighting.fingerprint.in_(list(fingerprints))
        )
    )


def forget_old_blocks(session: Session, now: datetime, window: timedelta) -> int:
    """Forget the blocks of articles first seen more than ``window`` before ``now``.

    The articles to forget are the ids below a horizon (``storage.horizon``), deleted by a range
    of the ``article_id`` index that starts at the oldest sighting left, so each call costs what
    it deletes, not what the archive holds. Returns how many rows went.
    """
    return forget_aged(session, BlockSighting.article_id, now, window)


def _replace_text(article: Article, html: str, text: str, profile: TopicProfile) -> int:
    """Give ``article`` its cleaned text, and what follows from it; return its new SimHash."""
    body = derive_text_fields(html, text, title=article.title, tags=article.tags, profile=profile)
    for column, value in body.columns().items():
        setattr(article, column, value)
    return body.simhash


def suggest_rules(session: Session, source_id: int, min_articles: int = 2) -> list[Suggestion]:
    """Learned blocks, and blocks on their way to being learned, most frequent first.

    A block that recurs under one author only is that author's bio or sign-off, kept on purpose:
    never proposed as a rule (only blocks of several authors, or of a source without authors).
    """
    learned = {
        row.fingerprint: row
        for row in session.scalars(select(Boilerplate).where(Boilerplate.source_id == source_id))
    }
    suggestions = [
        Suggestion(row.text, row.articles, row.authors, learned=True) for row in learned.values()
    ]
    for fingerprint, articles, authors in _block_counts(session, source_id):
        if fingerprint in learned or articles < min_articles or authors == 1:
            continue
        text = _find_text(session, source_id, fingerprint)
        if text:
            suggestions.append(Suggestion(text, articles, authors, learned=False))
    return sorted(suggestions, key=lambda item: (-item.articles, item.text))


def _find_text(session: Session, source_id: int, fingerprint: str) -> str | None:
    """Recover a block's text (or, for a block without text, its targets) from one article."""
    query = (
        select(Article.html)
        .join(BlockSighting, BlockSighting.article_id == Article.id)
        .where(BlockSighting.source_id == source_id, BlockSighting.fingerprint == fingerprint)
        .limit(1)
    )
    html = session.scalars(query).first() or ""
    return next(
        (block.label for block in stored_blocks(html) if block.fingerprint == fingerprint), None
    )
