"""Candidates made by hand for the dedup and storage tests: a one-word body with the given
content hash and SimHash, every other field a plausible default the caller may replace."""

from __future__ import annotations

from datetime import datetime

from aggregator.ingest import Candidate, TextFields
from aggregator.relevance import Relevance


def make_candidate(
    *, content_hash: str, simhash: int, when: datetime, **changes: object
) -> Candidate:
    """A candidate published and fetched at ``when``; ``changes`` replace any other field."""
    body = TextFields(
        html="<p>text</p>",
        text="text",
        word_count=1,
        content_hash=content_hash,
        simhash=simhash,
        relevance=Relevance(score=1.0, matched={}, relevant=True),
    )
    fields: dict[str, object] = {
        "source": "copier",
        "url": "https://copier.example/essay",
        "canonical_url": "https://copier.example/essay",
        "guid": None,
        "title": "Essay",
        "author": "A. Writer",
        "published_at": when,
        "date_estimated": False,
        "updated_at": None,
        "fetched_at": when,
        "body": body,
        "language": "en",
        "tags": (),
        "blocks": (),
    }
    return Candidate(**{**fields, **changes})  # type: ignore[arg-type]
