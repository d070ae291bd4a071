"""Retention: purge old articles and leave tombstones, so purged items never come back.

An article is old when its publication date (or, without one, its first-seen time) is before
the cutoff; a pinned one (``storage.decisions``) is never purged, however old. Its canonical
URL, every URL it was seen at and its content hash become tombstones; the ingest path skips
anything that matches one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, select
from sqlalchemy.orm import Session

from aggregator.storage.database import Database
from aggregator.storage.decisions import pinned
from aggregator.storage.models import Article, Sighting, Tombstone
from aggregator.storage.types import UTCDateTime
from aggregator.storage.upsert import upsert

PURGE_CHUNK = 500


@dataclass(frozen=True)
class PurgePreview:
    """What a purge at some cutoff would delete: how many articles, dated from when to when."""

    count: int
    oldest: datetime | None
    newest: datetime | None


def _dated() -> ColumnElement[datetime]:
    """When an article counts as dated: its publication, else when it was first seen."""
    return func.coalesce(Article.published_at, Article.first_seen_at, type_=UTCDateTime())


def _purged(cutoff: datetime) -> ColumnElement[bool]:
    """What a purge at ``cutoff`` deletes: the old articles, except the pinned ones."""
    return and_(_dated() < cutoff, ~pinned())


def preview_purge(database: Database, cutoff: datetime) -> PurgePreview:
    """What ``purge_before(database, cutoff, ...)`` would delete, deleting nothing."""
    with database.session() as session:
        count, oldest, newest = session.execute(
            select(
                func.count(),
                func.min(_dated(), type_=UTCDateTime()),
                func.max(_dated(), type_=UTCDateTime()),
            ).where(_purged(cutoff))
        ).one()
    return PurgePreview(int(count), oldest, newest)


def purge_before(database: Database, cutoff: datetime, now: datetime) -> int:
    """Delete articles older than ``cutoff``, leaving tombstones; return how many.

    Each chunk is its own write transaction, so a first purge over years of articles holds
    SQLite's write lock for one chunk at a time and polls get their turns in between.
    """
    purged = 0
    while True:
        with database.write_session() as session:
            count = _purge_chunk(session, cutoff, now)
        if not count:
            return purged
        purged += count


def _purge_chunk(session: Session, cutoff: datetime, now: datetime) -> int:
    old = _purged(cutoff)
    rows = session.execute(
        select(Article.id, Article.canonical_url, Article.content_hash)
        .where(old)
        .limit(PURGE_CHUNK)
    ).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    tombstones = {("url", row.canonical_url) for row in rows}
    tombstones |= {("hash", row.content_hash) for row in rows}
    tombstones |= {
        ("url", url)
        for (url,) in session.execute(select(Sighting.url).where(Sighting.article_id.in_(ids)))
    }
    _bury(session, tombstones, now)
    session.execute(delete(Article).where(Article.id.in_(ids)))
    return len(ids)


def _bury(session: Session, tombstones: set[tuple[str, str]], now: datetime) -> None:
    upsert(
        session,
        cast(Table, Tombstone.__table__),
        [{"kind": kind, "value": value, "purged_at": now} for kind, value in sorted(tombstones)],
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
