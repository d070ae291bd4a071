"""Where an age window starts among the articles: the first id first seen since a moment.

Article ids follow the order articles were first seen, so "the articles first seen before X" are
the ids below a horizon, found by a binary search over ids (a few primary-key lookups). Rows kept
only for a window (block sightings, SimHash bands) are then forgotten by a range of an index that
leads with ``article_id``, so each forgetting costs what it deletes, not what the archive holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from aggregator.storage.models import Article


def forget_aged(
    session: Session, article_id: InstrumentedAttribute[int], now: datetime, window: timedelta
) -> int:
    """Delete the rows (of the table of ``article_id``, a column an index leads with) whose
    articles were first seen more than ``window`` before ``now``. Returns how many went."""
    oldest = session.scalar(select(func.min(article_id)))
    horizon = aged_horizon(session, oldest, now - window)
    if horizon is None:
        return 0
    result = session.execute(delete(article_id.class_).where(article_id < horizon))
    return int(getattr(result, "rowcount", 0) or 0)


def aged_horizon(session: Session, oldest: int | None, cutoff: datetime) -> int | None:
    """The id below which articles (from ``oldest``, the lowest id still holding rows) were first
    seen before ``cutoff``; None when none of them were (the usual case between two days)."""
    if oldest is None:
        return None
    seen = first_seen(session, oldest)
    if seen is None or seen >= cutoff:
        return None
    horizon = first_seen_since(session, cutoff, oldest)
    return horizon if horizon > oldest else None


def first_seen_since(session: Session, cutoff: datetime, low: int) -> int:
    """The smallest article id (at least ``low``) first seen at or after ``cutoff``; past the
    newest id when none was."""
    newest = session.scalar(select(func.max(Article.id))) or low
    high = newest + 1
    while low < high:
        middle = (low + high) // 2
        seen = first_seen(session, middle)
        if seen is None or seen >= cutoff:
            high = middle
        else:
            low = middle + 1
    return low


def first_seen(session: Session, article_id: int) -> datetime | None:
    """When the first article from ``article_id`` on was first seen (None: there is none)."""
    query = (
        select(Article.first_seen_at).where(Article.id >= article_id).order_by(Article.id).limit(1)
    )
    return session.scalar(query)
