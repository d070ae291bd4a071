"""Store candidates once: dedup against what is stored, then insert, update or add a sighting.

Dedup order: the GUID within the source, the URL (the page's own or its declared canonical),
the exact content hash, then near-duplicates across sources (SimHash within a few bits, with
agreeing titles and authors). The first two find the same item again (unchanged or updated);
the last two find another copy of it (a new sighting; the earliest copy is the primary).

A batch is looked up in four queries (the last: every stored article sharing a SimHash band
with one of its candidates), its new articles are inserted one statement each (their ids are
needed at once), and its sightings and fingerprints are written together at the end. Articles
stored earlier in the same batch are found like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, delete, insert, or_, select, tuple_
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
from aggregator.storage.retention import buried
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
    PURGED = "purged"  # matches a tombstone: removed by retention, not stored again


class MatchKind(StrEnum):
    SAME = "same"  # the GUID or URL of an item already stored
    CONTENT = "content"
    NEAR = "near"


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    article_id: int
    match: MatchKind | None = None


Entry = tuple[Candidate, int]  # a candidate and the id of the source it came from
NearRow = tuple[int, int | None, str, str | None]  # an article's id, SimHash, title and author


@dataclass
class _Known:
    """What the batch's lookups found, kept up to date as the batch is stored."""

    by_url: dict[str, int] = field(default_factory=dict)
    by_source_url: dict[tuple[int, str], int] = field(default_factory=dict)
    by_guid: dict[tuple[int, str], int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)
    hash_of: dict[int, str] = field(default_factory=dict)
    buried_urls: set[str] = field(default_factory=set)
    buried_hashes: set[str] = field(default_factory=set)
    fresh: list[NearRow] = field(default_factory=list)
    # Stored articles sharing a band with the batch, as they were before it; and the ones whose
    # text the batch changed, whose stored bands are gone until the batch ends.
    by_band: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    banded: dict[int, NearRow] = field(default_factory=dict)
    rewritten: set[int] = field(default_factory=set)

    def same_item(self, candidate: Candidate, source_id: int) -> int | None:
        keys = [
            self.by_guid.get((source_id, candidate.guid)) if candidate.guid else None,
            self.by_source_url.get((source_id, candidate.url)),
            self.by_source_url.get((source_id, candidate.canonical_url)),
            self.by_url.get(candidate.url),
            self.by_url.get(candidate.canonical_url),
        ]
        return next((key for key in keys if key is not None), None)

    def remember(self, article_id: int, candidate: Candidate, source_id: int) -> None:
        self.by_url.setdefault(candidate.canonical_url, article_id)
        self.by_source_url[(source_id, candidate.url)] = article_id
        if candidate.guid:
            self.by_guid[(source_id, candidate.guid)] = article_id
        self.by_hash.setdefault(candidate.content_hash, article_id)
        self.hash_of[article_id] = candidate.content_hash


@dataclass
class _Writes:
    """Rows written together at the end of the batch."""

    sightings: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    bands: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)


def save_batch(session: Session, entries: Sequence[Entry], now: datetime) -> list[Saved]:
    """Store every entry of a batch in ``session``'s transaction; say what happened to each."""
    known = _look_up(session, entries)
    writes = _Writes()
    results = []
    for candidate, source_id in entries:
        if _is_buried(known, candidate):
            results.append(Saved(Outcome.PURGED, 0))
            continue
        saved = _save(session, known, writes, candidate, source_id, now)
        writes.sightings[(source_id, candidate.url)] = {
            "article_id": saved.article_id,
            "source_id": source_id,
            "url": candidate.url,
            "guid": candidate.guid,
            "first_seen_at": now,
            "last_seen_at": now,
            "matched_by": saved.match.value if saved.match else None,
        }
        results.append(saved)
    _flush_writes(session, writes)
    return results


def save_candidate(session: Session, candidate: Candidate, source_id: int, now: datetime) -> Saved:
    """Store one candidate on its own (the careful path, one savepoint per item)."""
    return save_batch(session, [(candidate, source_id)], now)[0]


def _save(
    session: Session,
    known: _Known,
    writes: _Writes,
    candidate: Candidate,
    source_id: int,
    now: datetime,
) -> Saved:
    same = known.same_item(candidate, source_id)
    if same is not None:
        if known.hash_of.get(same) == candidate.content_hash:
            return Saved(Outcome.UNCHANGED, same, MatchKind.SAME)
        _update_text(session, writes, same, candidate, now)
        known.rewritten.add(same)
        known.remember(same, candidate, source_id)
        return Saved(Outcome.UPDATED, same, MatchKind.SAME)
    copy = known.by_hash.get(candidate.content_hash)
    kind = MatchKind.CONTENT
    if copy is None:
        copy, kind = _near_duplicate(known, candidate), MatchKind.NEAR
    if copy is not None:
        _prefer_earliest(session, copy, candidate, source_id)
        known.by_source_url[(source_id, candidate.url)] = copy
        return Saved(Outcome.DUPLICATE, copy, kind)
    article_id = _insert(session, writes, candidate, source_id, now)
    known.remember(article_id, candidate, source_id)
    known.fresh.append((article_id, candidate.simhash, candidate.title, candidate.author))
    return Saved(Outcome.NEW, article_id)


# --- finding ---------------------------------------------------------------------------------


def _is_buried(known: _Known, candidate: Candidate) -> bool:
    urls = {candidate.url, candidate.canonical_url}
    return bool(urls & known.buried_urls) or candidate.content_hash in known.buried_hashes


def _look_up(session: Session, entries: Sequence[Entry]) -> _Known:
    known = _Known()
    urls = sorted(
        {url for candidate, _ in entries for url in (candidate.url, candidate.canonical_url)}
    )
    guids = sorted({candidate.guid for candidate, _ in entries if candidate.guid})
    hashes = sorted({candidate.content_hash for candidate, _ in entries})
    for article_id, url, content_hash in session.execute(
        select(Article.id, Article.canonical_url, Article.content_hash).where(
            Article.canonical_url.in_(urls)
        )
    ):
        known.by_url[url] = article_id
        known.hash_of[article_id] = content_hash
    at_sources = select(
        Sighting.source_id, Sighting.url, Sighting.guid, Article.id, Article.content_hash
    ).join(Article, Sighting.article_id == Article.id)
    wanted = (
        Sighting.url.in_(urls)
        if not guids
        else or_(Sighting.url.in_(urls), Sighting.guid.in_(guids))
    )
    for source_id, url, guid, article_id, content_hash in session.execute(
        at_sources.where(wanted).order_by(Article.id.desc())
    ):
        known.by_source_url[(source_id, url)] = article_id
        if guid:
            known.by_guid[(source_id, guid)] = article_id
        known.hash_of[article_id] = content_hash
    for article_id, content_hash in session.execute(
        select(Article.id, Article.content_hash)
        .where(Article.content_hash.in_(hashes))
        .order_by(Article.id.desc())
    ):
        known.by_hash[content_hash] = article_id
    known.buried_urls, known.buried_hashes = buried(session, urls, hashes)
    _look_up_bands(session, known, entries)
    return known


def _look_up_bands(session: Session, known: _Known, entries: Sequence[Entry]) -> None:
    """Every stored article sharing a SimHash band with a candidate: near-duplicate suspects."""
    bands = sorted(
        {band for candidate, _ in entries for band in enumerate(simhash_bands(candidate.simhash))}
    )
    rows = session.execute(
        select(
            SimhashBand.band,
            SimhashBand.value,
            Article.id,
            Article.simhash,
            Article.title,
            Article.author,
        )
        .join(Article, SimhashBand.article_id == Article.id)
        .where(tuple_(SimhashBand.band, SimhashBand.value).in_(bands))
    )
    for band, value, article_id, article_simhash, title, author in rows:
        known.by_band.setdefault((band, value), []).append(article_id)
        known.banded[article_id] = (article_id, article_simhash, title, author)


def _near_duplicate(known: _Known, candidate: Candidate) -> int | None:
    sharing = {
        article_id
        for band in enumerate(simhash_bands(candidate.simhash))
        for article_id in known.by_band.get(band, ())
    }
    stored = [known.banded[article_id] for article_id in sharing - known.rewritten]
    for article_id, value, title, author in sorted([*stored, *known.fresh]):
        if value is None or hamming(value, candidate.simhash) > NEAR_DUPLICATE_DISTANCE:
            continue
        if titles_agree(title, candidate.title) and authors_agree(author, candidate.author):
            return int(article_id)
    return None


# --- writing ---------------------------------------------------------------------------------


def _insert(
    session: Session, writes: _Writes, candidate: Candidate, source_id: int, now: datetime
) -> int:
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
    _add_fingerprints(writes, article_id, candidate, source_id)
    return article_id


def _update_text(
    session: Session, writes: _Writes, article_id: int, candidate: Candidate, now: datetime
) -> None:
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
    writes.bands = [row for row in writes.bands if row["article_id"] != article_id]
    writes.blocks = [row for row in writes.blocks if row["article_id"] != article_id]
    _add_fingerprints(writes, article_id, candidate, article.primary_source_id)


def _content_fields(candidate: Candidate) -> dict[str, Any]:
    return {
        "title": candidate.title,
        "author": candidate.author,
        "text": candidate.text,
        "html": candidate.html,
        "sanitized_with": candidate.sanitized_with,
        "language": candidate.language,
        "tags": list(candidate.tags),
        "word_count": candidate.word_count,
        "content_hash": candidate.content_hash,
        "simhash": candidate.simhash,
        "relevance": candidate.relevance.score,
        "matched_terms": dict(candidate.relevance.matched),
        "extraction": dict(candidate.extraction),
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


def _add_fingerprints(
    writes: _Writes, article_id: int, candidate: Candidate, source_id: int
) -> None:
    writes.bands.extend(
        {"article_id": article_id, "band": band, "value": value}
        for band, value in enumerate(simhash_bands(candidate.simhash))
    )
    author = (candidate.author or "").casefold() or None
    writes.blocks.extend(
        {"source_id": source_id, "fingerprint": fingerprint, "article_id": article_id,
         "author": author}
        for fingerprint in sorted({block.fingerprint for block in candidate.blocks})
    )  # fmt: skip


def _flush_writes(session: Session, writes: _Writes) -> None:
    upsert(
        session,
        SIGHTINGS,
        list(writes.sightings.values()),
        key=["source_id", "url"],
        update=["article_id", "guid", "last_seen_at"],
    )
    if writes.bands:
        session.execute(insert(BANDS), writes.bands)
    if writes.blocks:
        session.execute(insert(BLOCKS), writes.blocks)
