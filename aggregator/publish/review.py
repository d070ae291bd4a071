"""What ``mutualaid review`` lists: the articles a curator most likely wants to decide about.

Two lists: what is held back with a score just under the threshold (within a margin, highest
first) and what is published with the lowest scores (lowest first). Published or not is the
policy's verdict (``published_filter``), so an article a keep_all source publishes is not "held
back", nor is a held or opted-out one "published". Each line says which topic terms made the
score, and any decision already taken (``storage.decisions``). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.relevance import TopicProfile
from aggregator.storage import Session, inspect
from aggregator.storage.inspect import ScoredRow
from aggregator.storage.published import PublishPolicy

# Terms shown per line: the ones that weighed most.
BRIEF_TERMS = 3


@dataclass(frozen=True)
class ReviewLine:
    id: int
    score: float
    title: str
    source: str
    published_at: datetime | None
    terms: list[str]  # "term ×count", the heaviest first
    decision: str | None


@dataclass(frozen=True)
class Review:
    threshold: float
    margin: float
    held_back: list[ReviewLine]  # scored in [threshold - margin, threshold), highest first
    lowest_published: list[ReviewLine]  # scored at least the threshold, lowest first


@dataclass(frozen=True)
class ReviewQuery:
    margin: float
    limit: int
    source: str | None = None


def review(
    session: Session, profile: TopicProfile, policy: PublishPolicy, query: ReviewQuery
) -> Review:
    """Both lists for ``profile``'s threshold, published or not as ``policy`` says."""
    threshold = profile.threshold
    near = inspect.scored_between(
        session,
        threshold - query.margin,
        threshold,
        lowest_first=False,
        published=(policy, False),
        source=query.source,
        limit=query.limit,
    )
    low = inspect.scored_between(
        session,
        threshold,
        None,
        lowest_first=True,
        published=(policy, True),
        source=query.source,
        limit=query.limit,
    )
    return Review(
        threshold,
        query.margin,
        [_line(row, profile) for row in near],
        [_line(row, profile) for row in low],
    )


def _line(row: ScoredRow, profile: TopicProfile) -> ReviewLine:
    return ReviewLine(
        row.id,
        row.score,
        row.title,
        row.source,
        row.published_at,
        brief_terms(row.matched_terms, profile),
        row.decision,
    )


def brief_terms(matched: dict[str, Any], profile: TopicProfile) -> list[str]:
    """The ``BRIEF_TERMS`` matched terms that weighed most in the score, as "term ×count"."""
    counted = [
        (term, int(count))
        for term, count in matched.items()
        if isinstance(count, int | float) and count
    ]
    heaviest = sorted(counted, key=lambda pair: (-profile.terms.get(pair[0], 0) * pair[1], pair[0]))
    return [f"{term} ×{count}" for term, count in heaviest[:BRIEF_TERMS]]
