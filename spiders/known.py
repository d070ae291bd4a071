"""Which URLs of a source are already stored, so an incremental crawl does not fetch them again.

Both the URLs the source was seen at (sightings, normalised the way ingest normalises them) and
the canonical URLs of the articles it is the primary source of. Links are compared after
``aggregator.normalize.canonical_url``. And whether a crawl of the source ever went through its
whole backlog: until one has, stored links say nothing of what lies behind them (``plan``).
"""

from __future__ import annotations

from aggregator.storage import Database
from aggregator.storage.articles import known_urls
from aggregator.storage.schedule import has_complete_crawl as _recorded_complete
from aggregator.storage.sources import source_ids


def load_known(database: Database, source: str) -> frozenset[str]:
    """The stored URLs of ``source``; empty for a source never stored."""
    with database.session() as session:
        source_id = source_ids(session).get(source)
        return known_urls(session, source_id) if source_id is not None else frozenset()


def has_complete_crawl(database: Database, source: str) -> bool:
    """Whether a crawl of ``source`` is recorded as having gone through its whole backlog."""
    with database.session() as session:
        source_id = source_ids(session).get(source)
        return source_id is not None and _recorded_complete(session, source_id)
