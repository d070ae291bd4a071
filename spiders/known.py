"""Which URLs of a source are already stored, so an incremental crawl does not fetch them again.

Both the URLs the source was seen at (sightings, normalised the way ingest normalises them) and
the canonical URLs of the articles it is the primary source of. Links are compared after
``aggregator.normalize.canonical_url``.
"""

from __future__ import annotations

from aggregator.storage import Database
from aggregator.storage.articles import known_urls
from aggregator.storage.sources import source_ids


def load_known(database: Database, source: str) -> frozenset[str]:
    """The stored URLs of ``source``; empty for a source never stored."""
    with database.session() as session:
        source_id = source_ids(session).get(source)
        return known_urls(session, source_id) if source_id is not None else frozenset()
