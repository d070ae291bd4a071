"""Curators' decisions (the ``decisions`` table): publish, hold or pin an article whatever its
score.

``publish`` publishes an article whatever its score, the threshold or the keep_all sources
say; ``hold`` never publishes it; ``pin`` publishes it like ``publish`` and keeps it from
retention's purges (``storage.retention``). A decision is a row of its own, never a column of
the article, so re-extraction and rescoring, which rewrite the article, leave it alone; only
``clear`` or the article's own deletion removes it.

The feeds walk ``article_feeds`` alone, so each of its rows carries a copy of the decision:
written here whenever a decision changes, and by ``article_feeds.feed_rows`` whenever the rows
are rewritten. The conditions below put a decision over the score's verdict, in SQL, for the
three places that ask "is this published": ``published_filter``, the feed walks and the
combined walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from aggregator.curation import PUBLISHING, VERDICTS, DecisionRecord, Verdict
from aggregator.normalize import canonical_url
from aggregator.storage.article_feeds import lock_articles
from aggregator.storage.models import Article, ArticleFeed, Decision, Sighting
from aggregator.storage.upsert import upsert

DECISIONS = cast(Table, Decision.__table__)
_CHUNK = 500


@dataclass(frozen=True)
class DecisionRow:
    article_id: int
    decision: str
    decided_at: datetime
    note: str | None
    url: str  # the article's canonical URL when decided
    by: str | None = None  # who decided, as they named themself


@dataclass(frozen=True)
class Decided:
    """A decision as an export lists it: with the article's title."""

    row: DecisionRow
    title: str


def decide(
    session: Session,
    article_id: int,
    verdict: Verdict,
    now: datetime,
    note: str | None = None,
    by: str | None = None,
) -> DecisionRow:
    """Record ``verdict`` about the stored article ``article_id`` (replacing any earlier one),
    with why (``note``) and who decided (``by``)."""
    url = session.scalar(select(Article.canonical_url).where(Article.id == article_id))
    if url is None:
        raise LookupError(f"no article {article_id}")
    row = DecisionRow(article_id, verdict, now, note, url, by)
    _store(session, [row])
    return row


def clear(session: Session, article_id: int) -> bool:
    """Forget the decision about ``article_id``; False when there was none."""
    lock_articles(session, [article_id])
    gone = session.execute(delete(Decision).where(Decision.article_id == article_id))
    _copy_to_feeds(session, article_id, None)
    return bool(getattr(gone, "rowcount", 0))


def decision_of(session: Session, article_id: int) -> DecisionRow | None:
    return decisions_of(session, [article_id]).get(article_id)


def decisions_of(session: Session, article_ids: Sequence[int]) -> dict[int, DecisionRow]:
    """The decisions about ``article_ids``, by article id (undecided ones left out)."""
    found: dict[int, DecisionRow] = {}
    ids = sorted(set(article_ids))
    for start in range(0, len(ids), _CHUNK):
        query = _columns().where(Decision.article_id.in_(ids[start : start + _CHUNK]))
        found.update((row[0], DecisionRow(*row)) for row in session.execute(query))
    return found


def every_decision(session: Session) -> list[Decided]:
    """Every decision, with its article's title, by article id."""
    query = (
        _columns()
        .add_columns(Article.title)
        .join(Article, Article.id == Decision.article_id)
        .order_by(Decision.article_id)
    )
    return [Decided(DecisionRow(*row[:6]), row[6]) for row in session.execute(query)]


def articles_at(session: Session, urls: Iterable[str]) -> dict[str, int]:
    """The stored article each of ``urls`` names, as its canonical URL or as the URL of any
    sighting of it (a URL that names none is left out)."""
    wanted = {url: _canonical(url) for url in set(urls)}
    spellings = sorted({*wanted, *wanted.values()})
    known: dict[str, int] = {}
    for start in range(0, len(spellings), _CHUNK):
        chunk = spellings[start : start + _CHUNK]
        query = select(Article.canonical_url, Article.id).where(Article.canonical_url.in_(chunk))
        known.update((url, article_id) for url, article_id in session.execute(query))
        seen = select(Sighting.url, Sighting.article_id).where(Sighting.url.in_(chunk))
        for url, article_id in session.execute(seen):
            known.setdefault(url, article_id)
    found: dict[str, int] = {}
    for url, canonical in wanted.items():
        match = known.get(canonical, known.get(url))
        if match is not None:
            found[url] = match
    return found


def restore(session: Session, decided: Sequence[tuple[int, DecisionRecord]]) -> None:
    """Store ``(article id, record)`` decisions as the records say (an import): each replaces
    its article's decision; ids of no stored article are skipped."""
    ids = sorted({article_id for article_id, _ in decided})
    urls: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(Article.id, Article.canonical_url).where(
            Article.id.in_(ids[start : start + _CHUNK])
        )
        urls.update((article_id, url) for article_id, url in session.execute(query))
    rows = {  # one per article, the last given (two URLs of one article)
        article_id: DecisionRow(
            article_id, record.decision, record.decided_at, record.note, urls[article_id], record.by
        )
        for article_id, record in decided
        if article_id in urls
    }
    _store(session, list(rows.values()))


def _store(session: Session, rows: Sequence[DecisionRow]) -> None:
    lock_articles(session, [row.article_id for row in rows])
    values = [
        {
            "article_id": row.article_id,
            "decision": row.decision,
            "decided_at": row.decided_at,
            "note": row.note,
            "url": row.url,
            "decided_by": row.by,
        }
        for row in rows
    ]
    upsert(
        session,
        DECISIONS,
        values,
        key=["article_id"],
        update=["decision", "decided_at", "note", "decided_by"],
    )
    for row in rows:
        _copy_to_feeds(session, row.article_id, row.decision)


def _copy_to_feeds(session: Session, article_id: int, verdict: str | None) -> None:
    session.execute(
        update(ArticleFeed).where(ArticleFeed.article_id == article_id).values(decision=verdict)
    )


def _columns() -> Any:
    return select(
        Decision.article_id,
        Decision.decision,
        Decision.decided_at,
        Decision.note,
        Decision.url,
        Decision.decided_by,
    )


def _canonical(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


# --- "Is it published?" with the decision over the score ------------------------------------


def over_article(by_score: ColumnElement[bool]) -> ColumnElement[bool]:
    """For a query of ``articles``: published when decided so (publish, pin), never when held,
    else as ``by_score`` (the threshold and keep_all rule) says."""
    return or_(_probe(PUBLISHING), and_(~_probe(VERDICTS), by_score))


def over_feed_row(rows: Any, by_score: ColumnElement[bool]) -> ColumnElement[bool]:
    """For a walk of ``article_feeds`` rows: the same, read from the row's own copy."""
    decided = rows.decision
    return or_(decided.in_(PUBLISHING), and_(decided.is_(None), by_score))


def held() -> ColumnElement[bool]:
    """For a query of ``articles``: the article is held back by a decision."""
    return _probe(("hold",))


def decided_published(
    session: Session, opted_out: Sequence[int] = ()
) -> list[tuple[datetime | None, int]]:
    """(published_at, id) of every article decided published (publish, pin) whose primary
    source is not one of ``opted_out`` (ids): what the combined walk adds to the articles over
    the threshold. The decisions read whole, the articles
    read then by key (two statements: a join leaves the order to the planner, which may walk
    the articles instead): the cost follows the decisions, not the archive."""
    decided = select(Decision.article_id).where(Decision.decision.in_(PUBLISHING))
    ids = sorted(session.scalars(decided))
    found: list[tuple[datetime | None, int]] = []
    excluded = set(opted_out)
    for start in range(0, len(ids), _CHUNK):
        query = select(Article.published_at, Article.id, Article.primary_source_id).where(
            Article.id.in_(ids[start : start + _CHUNK])
        )
        found += [
            (published_at, article_id)
            for published_at, article_id, source_id in session.execute(query)
            if source_id not in excluded
        ]
    return found


def pinned() -> ColumnElement[bool]:
    """For a query of ``articles``: the article is pinned (no purge deletes it)."""
    return _probe(("pin",))


def _probe(verdicts: Sequence[Verdict]) -> ColumnElement[bool]:
    """EXISTS (a decision about the outer query's article, one of ``verdicts``): one
    primary-key probe per row. ``OFFSET 0`` keeps PostgreSQL from hashing the whole table
    before the walk's first row, as ``storage.published._probe`` explains. An alias: the
    outer query may read ``decisions`` itself."""
    decided = aliased(Decision)
    return (
        select(literal(1))
        .where(decided.article_id == Article.id, decided.decision.in_(verdicts))
        .offset(0)
        .exists()
    )
