"""Retention: purge old articles and leave tombstones, so purged items never come back.

An article is old when its publication date (or, without one, its first-seen time) is before
the cutoff. Its canonical URL, every URL it was seen at and its content hash become tombstones;
the ingest path skips anything that matches one.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from aggregator.storage.models import Article, Sighting, Tombstone
from aggregator.storage.upsert import upsert

PURGE_CHUNK = 500


def purge_before(session: Session, cutoff: datetime, now: datetime) -> int:
    """Delete articles older than ``cutoff`` (in chunks), leaving tombstones; return how many."""
    purged = 0
    while True:
        ids = list(
            session.scalars(
                select(Article.id)
                .where(func.coalesce(Article.published_at, Article.first_seen_at) < cutoff)
                .limit(PURGE_CHUNK)
            )
        )
        if not ids:
            return purged
        _bury(session, ids, now)
        session.execute(delete(Article).where(Article.id.in_(ids)))
        purged += len(ids)


def _bury(session: Session, ids: list[int], now: datetime) -> None:
    rows = {
        ("url", url)
        for (url,) in session.execute(select(Article.canonical_url).where(Article.id.in_(ids)))
    }
    rows |= {
        ("url", url)
        for (url,) in session.execute(select(Sighting.url).where(Sighting.article_id.in_(ids)))
    }
    rows |= {
        ("hash", value)
        for (value,) in session.execute(select(Article.content_hash).where(Article.id.in_(ids)))
    }
    upsert(
        session,
        cast(Table, Tombstone.__table__),
        [{"kind": kind, "value": value, "purged_at": now} for kind, value in sorted(rows)],
        key=["kind", "value"],
        update=[],
    )


def buried(session: Session, urls: list[str], hashes: list[str]) -> tuple[set[str], set[str]]:
    """Which of ``urls`` and ``hashes`` belong to purged articles."""
    found_urls = set(
        session.scalars(
            select(Tombstone.value).where(Tombstone.kind == "url", Tombstone.value.in_(urls))
        )
    )
    found_hashes = set(
        session.scalars(
            select(Tombstone.value).where(Tombstone.kind == "hash", Tombstone.value.in_(hashes))
        )
    )
    return found_urls, found_hashes
