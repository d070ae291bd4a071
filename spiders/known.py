"""Which URLs of a source are already stored, so an incremental crawl does not fetch them again.

Both the URLs the source was seen at (sightings, normalised the way ingest normalises them) and
the canonical URLs of the articles it is the primary source of. Links are compared after
``aggregator.normalize.canonical_url``. And whether a crawl of the source ever went through its
whole backlog: until one has, stored links say nothing of what lies behind them (``plan``).
"""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from aggregator.storage import Database
from aggregator.storage.models import Article, Run, Sighting
from aggregator.storage.sources import source_ids


def known_urls(session: Session, source_id: int) -> frozenset[str]:
    seen = select(Sighting.url).where(Sighting.source_id == source_id)
    primary = select(Article.canonical_url).where(Article.primary_source_id == source_id)
    return frozenset(session.scalars(union(seen, primary)))


def load_known(database: Database, source: str) -> frozenset[str]:
    """The stored URLs of ``source``; empty for a source never stored."""
    with database.session() as session:
        source_id = source_ids(session).get(source)
        return known_urls(session, source_id) if source_id is not None else frozenset()


def has_complete_crawl(database: Database, source: str) -> bool:
    """Whether a crawl of ``source`` is recorded as having gone through its whole backlog."""
    with database.session() as session:
        source_id = source_ids(session).get(source)
        if source_id is None:
            return False
        complete = select(Run.id).where(
            Run.source_id == source_id, Run.kind == "crawl", Run.complete.is_(True)
        )
        return session.scalars(complete.limit(1)).first() is not None
