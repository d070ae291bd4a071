"""The per-source and per-tag feeds each article can appear in (the ``article_feeds`` table).

One row per feed an article belongs to: ``source`` rows for every source it was seen at (its
primary source included), ``tag`` rows for each tag slug. Each row carries the article's
``published_at``, ``relevance`` and curator's ``decision`` (``storage.decisions``, which also
writes it when a decision changes), so a feed's newest published articles are read by walking
one index backwards (``storage.published``) instead of every article of the archive.

Nothing that depends on the config is stored (the threshold, the keep_all sources and opt-outs are
applied when reading), so a config change needs no rewrite. The rows follow the articles:
ingest calls ``refresh`` for every article a batch inserted, updated or saw again, a purged
article's rows go with it (``ON DELETE CASCADE``), and migration 0012 filled the table for the
articles stored before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from aggregator.storage.models import Article, ArticleFeed, Decision, Sighting

SOURCE = "source"
TAG = "tag"
FEEDS = cast(Table, ArticleFeed.__table__)
_CHUNK = 500


def refresh(session: Session, article_ids: Sequence[int], *, decided: bool = True) -> None:
    """Rewrite the rows of ``article_ids`` from what is stored now (missing ids: no rows).

    ``decided=False`` leaves the decisions out: migration 0012 files the articles in a schema
    that has no decisions yet."""
    for chunk in _chunks(sorted(set(article_ids))):
        lock_articles(session, chunk)
        session.execute(delete(ArticleFeed).where(ArticleFeed.article_id.in_(chunk)))
        rows = feed_rows(session, chunk, decided=decided)
        if rows:
            session.execute(insert(FEEDS), rows)


def lock_articles(session: Session, article_ids: Sequence[int]) -> None:
    """Lock the articles' rows until the transaction ends (PostgreSQL; SQLite writers take the
    whole database). Refiling and a curator's decision both take it first: otherwise a decision
    copied onto feed rows that a refile is replacing would be lost with them, and the refile
    would not see it yet (read committed)."""
    ids = sorted(set(article_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Article.id).where(Article.id.in_(ids)).with_for_update())


def feed_rows(
    session: Session, article_ids: Sequence[int], *, decided: bool = True
) -> list[dict[str, Any]]:
    """The rows ``article_ids`` should have (without a ``decision`` unless ``decided``)."""
    # Here, not at the top: publishing's modules read this package's row types.
    from aggregator.publish.names import tag_slugs

    seen_at: dict[int, set[int]] = {article_id: set() for article_id in article_ids}
    query = select(Sighting.article_id, Sighting.source_id).where(
        Sighting.article_id.in_(article_ids)
    )
    for article_id, source_id in session.execute(query):
        seen_at[article_id].add(source_id)
    verdicts = _decisions(session, article_ids) if decided else {}
    columns = select(
        Article.id, Article.primary_source_id, Article.published_at, Article.relevance, Article.tags
    ).where(Article.id.in_(article_ids))
    rows: list[dict[str, Any]] = []
    for article_id, primary, published_at, relevance, tags in session.execute(columns):
        common = {
            "article_id": article_id,
            "published_at": published_at,
            "relevance": relevance,
            **({"decision": verdicts.get(article_id)} if decided else {}),
        }
        for source_id in sorted(seen_at[article_id] | {primary}):
            rows.append({**common, "kind": SOURCE, "key": str(source_id), "label": None})
        for slug, label in tag_slugs(tags):
            rows.append({**common, "kind": TAG, "key": slug, "label": label})
    return rows


def tag_label(session: Session, key: str, article_id: int) -> str | None:
    """The spelling ``article_id`` gives the tag ``key`` (a tag listing's heading)."""
    rows = ArticleFeed
    query = select(rows.label).where(
        rows.kind == TAG, rows.key == key, rows.article_id == article_id
    )
    return session.scalar(query)


def _decisions(session: Session, article_ids: Sequence[int]) -> dict[int, str]:
    query = select(Decision.article_id, Decision.decision).where(
        Decision.article_id.in_(article_ids)
    )
    return {row[0]: row[1] for row in session.execute(query)}


def fill_all(session: Session, *, decided: bool = True) -> int:
    """Rewrite the rows of every stored article, in chunks; return how many articles."""
    done = 0
    last = 0
    while True:
        ids = list(
            session.scalars(
                select(Article.id).where(Article.id > last).order_by(Article.id).limit(_CHUNK)
            )
        )
        if not ids:
            return done
        refresh(session, ids, decided=decided)
        done += len(ids)
        last = ids[-1]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
