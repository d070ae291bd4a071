"""Articles in the database: what a batch of candidates could match, and writing the verdicts.

``save_batch`` looks a batch up in a few queries, each an index search whatever the archive's
size (tests/test_query_plans.py checks the plans; the last finds the stored articles within the
near-duplicate distance of a candidate through their SimHash bands), asks
``aggregator.ingest.dedup.decide`` about each candidate in turn, and applies the answer. New
articles are inserted one statement each (their ids are needed at once); sightings and
fingerprints are written together at the end. Articles stored earlier in the same batch are
found like any other: the lookup (``BatchIndex``) learns each verdict as it is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, insert, or_, select, union, update
from sqlalchemy.orm import Session

from aggregator.fingerprints import (
    NEAR_DUPLICATE_DISTANCE,
    hamming,
    simhash_bands,
    simhash_probes,
)
from aggregator.ingest.dedup import (
    Decision,
    Intent,
    Known,
    MatchKind,
    StoredArticle,
    decide,
)
from aggregator.ingest.prepare import Candidate
from aggregator.ingest.report import Outcome
from aggregator.storage import article_feeds
from aggregator.storage.models import (
    ARTICLE_SIMHASH_INDEX,
    Article,
    BlockSighting,
    Sighting,
    SimhashBand,
)
from aggregator.storage.retention import buried
from aggregator.storage.upsert import upsert

ARTICLES = cast(Table, Article.__table__)
SIGHTINGS = cast(Table, Sighting.__table__)
BANDS = cast(Table, SimhashBand.__table__)
BLOCKS = cast(Table, BlockSighting.__table__)

# Candidates whose SimHash probes go in one statement: 68 values each. PostgreSQL prices each
# value as an index scan of its own and reads the whole table instead once a statement has many
# (16 candidates in an archive of 30,000, 50 in one of 100,000): 8 keeps the index from 20,000.
PROBED_AT_ONCE = 8

# The columns of ``StoredArticle``, in its order.
_STORED = (
    Article.id,
    Article.content_hash,
    Article.simhash,
    Article.title,
    Article.author,
    Article.published_at,
    Article.date_estimated,
)

Entry = tuple[Candidate, int]  # a candidate and the id of the source it came from


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    article_id: int
    match: MatchKind | None = None


@dataclass
class BatchIndex:
    """What the batch's lookups found, kept up to date as the batch is stored."""

    articles: dict[int, StoredArticle] = field(default_factory=dict)
    by_url: dict[str, int] = field(default_factory=dict)
    by_source_url: dict[tuple[int, str], int] = field(default_factory=dict)
    by_guid: dict[tuple[int, str], int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)
    buried_urls: set[str] = field(default_factory=set)
    buried_hashes: set[str] = field(default_factory=set)
    # Stored articles near a candidate of the batch, by the band value they were found under, as
    # they were before it; the ones the batch inserted; and the ones whose text it changed,
    # whose stored bands are gone until it ends.
    by_band: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    fresh: list[int] = field(default_factory=list)
    rewritten: set[int] = field(default_factory=set)

    def known(self, candidate: Candidate, source_id: int) -> Known:
        """What dedup needs to decide about ``candidate`` (from ``source_id``)."""
        same_text = self.by_hash.get(candidate.content_hash)
        return Known(
            same_item=self._article(self._same_item(candidate, source_id)),
            same_text=self._article(same_text),
            near=tuple(self.articles[article_id] for article_id in self._near(candidate)),
            purged=self._purged(candidate),
        )

    def learn(self, decision: Decision, candidate: Candidate, source_id: int) -> None:
        """Remember a verdict applied, for the candidates after it."""
        article_id = decision.article_id
        if article_id is None or decision.intent is Intent.UNCHANGED:
            return
        if decision.intent is Intent.SIGHTING:
            self.by_source_url[(source_id, candidate.url)] = article_id
            if decision.becomes_primary:
                self.articles[article_id] = replace(
                    self.articles[article_id],
                    published_at=candidate.published_at,
                    date_estimated=False,
                )
            return
        self.by_url.setdefault(candidate.canonical_url, article_id)
        self.by_source_url[(source_id, candidate.url)] = article_id
        if candidate.guid:
            self.by_guid[(source_id, candidate.guid)] = article_id
        self.by_hash.setdefault(candidate.content_hash, article_id)
        self.articles[article_id] = self._rewritten(article_id, candidate, decision.takes_date)
        if decision.intent is Intent.INSERT:
            self.fresh.append(article_id)
        else:
            self.rewritten.add(article_id)

    def _rewritten(self, article_id: int, candidate: Candidate, take_date: bool) -> StoredArticle:
        """The article once ``candidate`` was inserted as it, or updated it."""
        before = self.articles.get(article_id)
        dated = before if before is not None and not take_date else None
        return StoredArticle(
            id=article_id,
            content_hash=candidate.content_hash,
            simhash=candidate.simhash,
            title=candidate.title,
            author=candidate.author,
            published_at=dated.published_at if dated else candidate.published_at,
            date_estimated=dated.date_estimated if dated else candidate.date_estimated,
        )

    def _article(self, article_id: int | None) -> StoredArticle | None:
        return None if article_id is None else self.articles[article_id]

    def _same_item(self, candidate: Candidate, source_id: int) -> int | None:
        keys = [
            self.by_guid.get((source_id, candidate.guid)) if candidate.guid else None,
            self.by_source_url.get((source_id, candidate.url)),
            self.by_source_url.get((source_id, candidate.canonical_url)),
            self.by_url.get(candidate.url),
            self.by_url.get(candidate.canonical_url),
        ]
        return next((key for key in keys if key is not None), None)

    def _near(self, candidate: Candidate) -> set[int]:
        sharing = {
            article_id
            for probe in simhash_probes(candidate.simhash)
            for article_id in self.by_band.get(probe, ())
        }
        return (sharing - self.rewritten) | set(self.fresh)

    def _purged(self, candidate: Candidate) -> bool:
        urls = {candidate.url, candidate.canonical_url}
        return bool(urls & self.buried_urls) or candidate.content_hash in self.buried_hashes


@dataclass
class _Writes:
    """Rows written together at the end of the batch."""

    sightings: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    bands: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)


def save_batch(session: Session, entries: Sequence[Entry], now: datetime) -> list[Saved]:
    """Store every entry of a batch in ``session``'s transaction; say what happened to each."""
    index = look_up(session, entries)
    writes = _Writes()
    results = []
    left: list[int] = []  # articles a sighting moved away from, filed again below
    for candidate, source_id in entries:
        seen_here = index.by_source_url.get((source_id, candidate.url))
        decision = decide(candidate, index.known(candidate, source_id))
        if decision.intent is Intent.PURGED:
            results.append(Saved(Outcome.PURGED, 0))
            continue
        decision = _apply(session, writes, decision, candidate, source_id, now)
        index.learn(decision, candidate, source_id)
        article_id = cast(int, decision.article_id)
        if seen_here is not None and seen_here != article_id:
            left.append(seen_here)
        writes.sightings[(source_id, candidate.url)] = {
            "article_id": article_id,
            "source_id": source_id,
            "url": candidate.url,
            "guid": candidate.guid,
            "first_seen_at": now,
            "last_seen_at": now,
            "matched_by": decision.match.value if decision.match else None,
        }
        results.append(Saved(decision.intent.outcome, article_id, decision.match))
    _flush_writes(session, writes)
    changed = (Outcome.NEW, Outcome.UPDATED, Outcome.DUPLICATE)
    filed = [saved.article_id for saved in results if saved.outcome in changed]
    article_feeds.refresh(session, sorted({*filed, *left}))
    return results


def save_candidate(session: Session, candidate: Candidate, source_id: int, now: datetime) -> Saved:
    """Store one candidate on its own (the careful path, one savepoint per item)."""
    return save_batch(session, [(candidate, source_id)], now)[0]


def _apply(
    session: Session,
    writes: _Writes,
    decision: Decision,
    candidate: Candidate,
    source_id: int,
    now: datetime,
) -> Decision:
    """Write what ``decision`` says; an insert comes back with its new article's id."""
    if decision.intent is Intent.INSERT:
        return replace(
            decision, article_id=insert_article(session, writes, candidate, source_id, now)
        )
    article_id = cast(int, decision.article_id)
    if decision.intent is Intent.UPDATE:
        update_text(session, writes, article_id, candidate, now, take_date=decision.takes_date)
    elif decision.intent is Intent.SIGHTING and decision.becomes_primary:
        make_primary(session, article_id, candidate, source_id)
    elif decision.intent is Intent.UNCHANGED:
        record_licence(session, article_id, candidate)
    return decision


# --- finding ---------------------------------------------------------------------------------


def look_up(session: Session, entries: Sequence[Entry]) -> BatchIndex:
    """Every stored article a candidate of the batch could be, or be a copy of."""
    index = BatchIndex()
    urls = sorted(
        {url for candidate, _ in entries for url in (candidate.url, candidate.canonical_url)}
    )
    hashes = sorted({candidate.content_hash for candidate, _ in entries})
    _look_up_urls(session, index, urls)
    _look_up_sightings(session, index, entries)
    _look_up_hashes(session, index, hashes)
    index.buried_urls, index.buried_hashes = buried(session, urls, hashes)
    _look_up_bands(session, index, entries)
    return index


def _look_up_urls(session: Session, index: BatchIndex, urls: list[str]) -> None:
    query = select(Article.canonical_url, *_STORED).where(Article.canonical_url.in_(urls))
    for url, *stored in session.execute(query):
        index.by_url[url] = _remember(index, stored)


def _look_up_sightings(session: Session, index: BatchIndex, entries: Sequence[Entry]) -> None:
    """Where the batch's sources saw what, by URL or GUID; the oldest article wins a shared key.

    Only a candidate's own source's sightings identify it (``BatchIndex._same_item``), so the
    query asks for each source's own URLs and GUIDs: every term searches a ``(source_id, ...)``
    index.
    """
    urls: dict[int, set[str]] = {}
    guids: dict[int, set[str]] = {}
    for candidate, source_id in entries:
        urls.setdefault(source_id, set()).update((candidate.url, candidate.canonical_url))
        if candidate.guid:
            guids.setdefault(source_id, set()).add(candidate.guid)
    if not urls:
        return
    wanted = or_(
        *(and_(Sighting.source_id == source, Sighting.url.in_(sorted(keys)))
          for source, keys in sorted(urls.items())),
        *(and_(Sighting.source_id == source, Sighting.guid.in_(sorted(keys)))
          for source, keys in sorted(guids.items())),
    )  # fmt: skip
    query = (
        select(Sighting.source_id, Sighting.url, Sighting.guid, *_STORED)
        .join(Article, Sighting.article_id == Article.id)
        .where(wanted)
    )
    # Sorted here, not in SQL: ORDER BY articles.id lets SQLite walk all of articles in order.
    rows = sorted(session.execute(query), key=lambda row: row.id, reverse=True)
    for source_id, url, guid, *stored in rows:
        article_id = _remember(index, stored)
        index.by_source_url[(source_id, url)] = article_id
        if guid:
            index.by_guid[(source_id, guid)] = article_id


def _look_up_hashes(session: Session, index: BatchIndex, hashes: list[str]) -> None:
    """Articles with a candidate's exact text; the oldest wins."""
    query = select(*_STORED).where(Article.content_hash.in_(hashes))
    for stored in sorted(session.execute(query), key=lambda row: row.id, reverse=True):
        index.by_hash[stored.content_hash] = _remember(index, stored)


def _look_up_bands(session: Session, index: BatchIndex, entries: Sequence[Entry]) -> None:
    """Stored articles within the near-duplicate distance of a candidate.

    The candidates' probes find every stored article sharing a band value (about 0.1% of the
    archive each, see ``aggregator.fingerprints``), each with its SimHash read from the narrow
    ``(id, simhash)`` index in the same statement; only the articles near a candidate are read
    in full.
    """
    simhashes = sorted({candidate.simhash for candidate, _ in entries})
    probed_for: dict[tuple[int, int], list[int]] = {}  # probe -> the SimHashes probing it
    near: set[tuple[int, int, int]] = set()
    for start in range(0, len(simhashes), PROBED_AT_ONCE):
        probes: set[tuple[int, int]] = set()
        for value in simhashes[start : start + PROBED_AT_ONCE]:
            for probe in simhash_probes(value):
                probes.add(probe)
                probed_for.setdefault(probe, []).append(value)
        near.update(
            (band, value, article_id)
            for band, value, article_id, stored in _probe(session, probes)
            if _within_reach(stored, probed_for[(band, value)])
        )
    if not near:
        return
    ids = sorted({article_id for _, _, article_id in near})
    for stored in session.execute(select(*_STORED).where(Article.id.in_(ids))):
        _remember(index, stored)
    for band, value, article_id in sorted(near):
        index.by_band.setdefault((band, value), []).append(article_id)


def _probe(
    session: Session, probes: Iterable[tuple[int, int]]
) -> list[tuple[int, int, int, int | None]]:
    """(band, value, article id, its SimHash) of every stored band row equal to one of
    ``probes``.

    One ``band = ? AND value IN (...)`` term per band, ORed: an index search of each term on
    both databases (SQLite does not search the index for ``(band, value) IN (VALUES ...)``),
    then the article's SimHash from the narrow ``(id, simhash)`` index (SQLite would otherwise
    walk each row's overflow pages to it). At 100k articles a batch of 50 reads about 5,000.
    """
    by_band: dict[int, list[int]] = {}
    for band, value in sorted(probes):
        by_band.setdefault(band, []).append(value)
    terms = " OR ".join(
        f"(b.band = {int(band)} AND b.value IN ({_int_list(values)}))"
        for band, values in by_band.items()
    )
    hint = f" INDEXED BY {ARTICLE_SIMHASH_INDEX}" if _dialect(session) == "sqlite" else ""
    sql = (
        "SELECT b.band, b.value, b.article_id, a.simhash FROM simhash_bands AS b"
        f" JOIN articles AS a{hint} ON a.id = b.article_id WHERE {terms}"
    )
    return [tuple(row) for row in session.connection().exec_driver_sql(sql)]


def _int_list(values: Iterable[int]) -> str:
    """Ints written into the statement: for hundreds of values much cheaper than as many bound
    parameters through SQLAlchemy, and safe (``int`` renders only digits and a sign)."""
    return ",".join(str(int(value)) for value in values)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _within_reach(stored: int | None, simhashes: Sequence[int]) -> bool:
    """Whether ``stored`` is within the near-duplicate distance of one of ``simhashes``."""
    if stored is None:
        return False
    return any(hamming(stored, own) <= NEAR_DUPLICATE_DISTANCE for own in simhashes)


def _remember(index: BatchIndex, row: Sequence[Any]) -> int:
    article = StoredArticle(*row)
    index.articles[article.id] = article
    return article.id


def sightings_matching(
    session: Session, source_id: int, guids: Sequence[str], urls: Sequence[str]
) -> list[tuple[str | None, str, int, datetime]]:
    """(guid, url, article id, article last changed) of the source's sightings with one of
    ``guids`` or ``urls``."""
    query = (
        select(Sighting.guid, Sighting.url, Article.id, Article.last_changed_at)
        .join(Article, Sighting.article_id == Article.id)
        .where(Sighting.source_id == source_id)
        .where(or_(Sighting.guid.in_(guids), Sighting.url.in_(urls)))
    )
    return [
        (guid, url, article_id, changed)
        for guid, url, article_id, changed in session.execute(query)
    ]


def known_urls(session: Session, source_id: int) -> frozenset[str]:
    """The URLs ``source_id`` was seen at, and the canonical URLs of its primary articles."""
    seen = select(Sighting.url).where(Sighting.source_id == source_id)
    primary = select(Article.canonical_url).where(Article.primary_source_id == source_id)
    return frozenset(session.scalars(union(seen, primary)))


# --- writing ---------------------------------------------------------------------------------


def insert_article(
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


def update_text(
    session: Session,
    writes: _Writes,
    article_id: int,
    candidate: Candidate,
    now: datetime,
    *,
    take_date: bool,
) -> None:
    """The same item with new text: update it in place, fingerprints included."""
    article = session.get_one(Article, article_id)
    for name, value in _updated_fields(candidate).items():
        setattr(article, name, value)
    article.updated_at = candidate.updated_at or now
    article.last_changed_at = now
    if take_date:
        article.published_at = candidate.published_at
        article.date_estimated = False
    session.execute(delete(SimhashBand).where(SimhashBand.article_id == article_id))
    session.execute(delete(BlockSighting).where(BlockSighting.article_id == article_id))
    writes.bands = [row for row in writes.bands if row["article_id"] != article_id]
    writes.blocks = [row for row in writes.blocks if row["article_id"] != article_id]
    _add_fingerprints(writes, article_id, candidate, article.primary_source_id)


def make_primary(session: Session, article_id: int, candidate: Candidate, source_id: int) -> None:
    """An earlier copy is the original: its source, URL, date and licence become the article's
    (a licence read at a copy's site is not the author's word; none found is none known)."""
    article = session.get_one(Article, article_id)
    # The copy's canonical URL is free: the URL lookup found no article under it.
    article.primary_source_id = source_id
    article.canonical_url = candidate.canonical_url
    article.published_at = candidate.published_at
    article.date_estimated = False
    for column, value in licence_fields(candidate).items():
        setattr(article, column, value)


def _content_fields(candidate: Candidate) -> dict[str, Any]:
    return {
        **candidate.body.columns(),
        "title": candidate.title,
        "author": candidate.author,
        "language": candidate.language,
        "tags": list(candidate.tags),
        "extraction": dict(candidate.extraction),
        **licence_fields(candidate),
    }


def _updated_fields(candidate: Candidate) -> dict[str, Any]:
    """What an update writes: the content fields, but the licence only when one was found,
    since a feed's content rarely carries the licence its page declares."""
    fields = _content_fields(candidate)
    if candidate.licence is None:
        del fields["licence"], fields["licence_declared"]
    return fields


def licence_fields(candidate: Candidate) -> dict[str, str | None]:
    """The licence columns: what the candidate's page declares, None for both when nothing."""
    licence = candidate.licence
    return {
        "licence": licence.id if licence else None,
        "licence_declared": licence.declared if licence else None,
    }


def record_licence(session: Session, article_id: int, candidate: Candidate) -> None:
    """An unchanged text whose page now declares another licence (or one, where articles stored
    before licences were read have none): the licence follows the page. Writes nothing when it
    is the same, or when the page declares none (the last known is kept, as ``update_text``)."""
    fields = licence_fields(candidate)
    if fields["licence"] is None:
        return
    session.execute(
        update(ARTICLES)
        .where(ARTICLES.c.id == article_id)
        .where(
            or_(
                ARTICLES.c.licence.is_(None),
                ARTICLES.c.licence != fields["licence"],
                ARTICLES.c.licence_declared.is_(None),
                ARTICLES.c.licence_declared != fields["licence_declared"],
            )
        )
        .values(fields)
    )


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
