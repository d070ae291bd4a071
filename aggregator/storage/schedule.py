"""What the daemon's tick reads to know which sources are due: one light query per kind of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.runs import RunKind, RunStatus
from aggregator.storage.models import FetchState, Run, Source


@dataclass(frozen=True, slots=True)
class StoredCheck:
    """A feed's next check as the last poll stored it, with what reading it needs."""

    next_check_at: datetime | None
    failing: bool
    ttl: timedelta | None  # the feed's own <ttl>


def stored_checks(session: Session) -> dict[tuple[str, str], StoredCheck]:
    """Every stored next check, by (source name, feed URL): a feed whose URL changed in the
    configuration has none yet."""
    query = select(
        Source.name,
        FetchState.url,
        FetchState.next_check_at,
        FetchState.consecutive_failures,
        FetchState.ttl_seconds,
    ).join(FetchState, FetchState.source_id == Source.id)
    return {
        (name, url): StoredCheck(due, bool(failures), timedelta(seconds=ttl) if ttl else None)
        for name, url, due, failures, ttl in session.execute(query)
    }


def last_crawls(session: Session) -> dict[str, datetime]:
    """When each source's newest crawl started (failed or not). Read at every tick: one index
    search per source and outcome, however many runs are stored."""
    newest = [
        select(Run.started_at)
        .where(Run.source_id == Source.id, Run.kind == RunKind.CRAWL, Run.status == status)
        .order_by(Run.started_at.desc())
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
        for status in RunStatus
    ]
    found: dict[str, datetime] = {}
    for name, *started in session.execute(select(Source.name, *newest)):
        latest = max((at for at in started if at is not None), default=None)
        if latest is not None:
            found[name] = latest
    return found


def has_complete_crawl(session: Session, source_id: int) -> bool:
    """Whether a crawl of the source is recorded as having gone through its whole backlog."""
    complete = select(Run.id).where(
        Run.source_id == source_id, Run.kind == RunKind.CRAWL, Run.complete.is_(True)
    )
    return session.scalars(complete.limit(1)).first() is not None
