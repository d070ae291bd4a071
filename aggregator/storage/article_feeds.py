"""The per-source and per-tag feeds each article can appear in (the ``article_feeds`` table).

One row per feed an article belongs to: ``source`` rows for every source it was seen at (its
primary source included), ``tag`` rows for each tag slug. Each row carries the article's
``published_at`` and ``relevance``, so a feed's newest published articles are read by walking
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

from aggregator.storage.models import Article, ArticleFeed, Sighting

SOURCE = "source"
TAG = "tag"
FEEDS = cast(Table, ArticleFeed.__table__)
_CHUNK = 500


def refresh(session: Session, article_ids: Sequence[int]) -> None:
    """Rewrite the rows of ``article_ids`` from what is stored now (missing ids: no rows)."""
    for chunk in _chunks(sorted(set(article_ids))):
        session.execute(delete(ArticleFeed).where(ArticleFeed.article_id.in_(chunk)))
        rows = feed_rows(session, chunk)
        if rows:
            session.execute(insert(FEEDS), rows)


def feed_rows(session: Session, article_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The rows ``article_ids`` should have."""
    # Here, not at the top: publishing's modules read this package's row types.
    from aggregator.publish.names import tag_slugs

    seen_at: dict[int, set[int]] = {article_id: set() for article_id in article_ids}
    query = select(Sighting.article_id, Sighting.source_id).where(
        Sighting.article_id.in_(article_ids)
    )
    for article_id, source_id in session.execute(query):
        seen_at[article_id].add(source_id)
    columns = select(
        Article.id, Article.primary_source_id, Article.published_at, Article.relevance, Article.tags
    ).where(Article.id.in_(article_ids))
    rows: list[dict[str, Any]] = []
    for article_id, primary, published_at, relevance, tags in session.execute(columns):
        common = {"article_id": article_id, "published_at": published_at, "relevance": relevance}
        for source_id in sorted(seen_at[article_id] | {primary}):
            rows.append({**common, "kind": SOURCE, "key": str(source_id), "label": None})
        for slug, label in tag_slugs(tags):
            rows.append({**common, "kind": TAG, "key": slug, "label": label})
    return rows


def fill_all(session: Session) -> int:
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
        refresh(session, ids)
        done += len(ids)
        last = ids[-1]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
