"""Search results as the outputs show them: each match's published entry, rank and snippet.

Entries come from ``publish.select.load_entries``, so a result is shown as every feed shows
the article (its title, attribution and any republication policy); storage only decides which
articles match and in what order (``storage.search``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.publish.entries import Entry
from aggregator.publish.select import PublishPolicy, load_entries
from aggregator.search.query import SearchQuery
from aggregator.storage import Session
from aggregator.storage.search import SearchScope, search

__all__ = ["Result", "SearchScope", "find"]


@dataclass(frozen=True)
class Result:
    entry: Entry
    rank: float
    snippet: str  # matches marked (``search.marks``)


def find(
    session: Session,
    policy: PublishPolicy,
    query: SearchQuery,
    limit: int,
    offset: int = 0,
    scope: SearchScope | None = None,
) -> list[Result]:
    """The ``limit`` results after the first ``offset``, in the storage's order."""
    hits = search(session, query, policy, limit, offset, scope)
    entries: dict[int, Entry] = {}
    load_entries(session, policy, [hit.article_id for hit in hits], entries)
    return [
        Result(entries[hit.article_id], hit.rank, hit.snippet)
        for hit in hits
        if hit.article_id in entries
    ]
