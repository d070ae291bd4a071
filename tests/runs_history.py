"""A small, hand-made history of runs for the retention and status tests: which rows a purge at
90 days must fold, which it must keep and why, written through the storage layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from aggregator.config import SourceConfig
from aggregator.storage import Database
from aggregator.storage.models import Run
from aggregator.storage.runs import insert_runs_of
from aggregator.storage.sources import sync_sources

KEEP_DAYS = 90


@dataclass(frozen=True)
class Planned:
    label: str
    source: str | None
    kind: str
    status: str
    days_ago: float
    kept: bool  # by a purge at KEEP_DAYS
    complete: bool | None = None


# Oldest first within each source. "kept" says why a row older than KEEP_DAYS stays.
HISTORY = (
    Planned("a1", "a", "poll", "ok", 200, kept=False),
    Planned("a2", "a", "poll", "failed", 190, kept=False),
    Planned("a11", "a", "backfill", "ok", 160, kept=True),  # newest ok backfill
    Planned("a3", "a", "poll", "ok", 150, kept=True),  # the last success of a's polls
    Planned("a4", "a", "poll", "failed", 140, kept=True),  # first failure since: failing_since
    Planned("a6", "a", "crawl", "ok", 130, kept=True, complete=True),  # newest complete crawl
    Planned("a5", "a", "poll", "failed", 120, kept=False),
    Planned("a9", "a", "crawl", "failed", 110, kept=True),  # newest failed crawl
    Planned("a10", "a", "crawl", "ok", 105, kept=True, complete=False),  # newest ok crawl
    Planned("a8", "a", "crawl", "running", 100, kept=True),  # still running
    Planned("a7", "a", "poll", "failed", 10, kept=True),  # recent
    Planned("b4", "b", "poll", "ok", 200, kept=False),
    Planned("b1", "b", "poll", "ok", 100, kept=False),
    Planned("b2", "b", "poll", "failed", 95, kept=True),  # newest failed poll: last failure
    Planned("b3", "b", "poll", "ok", 5, kept=True),  # recent
    Planned("d5", None, "purge", "ok", 130, kept=False),
    Planned("d4", None, "purge", "ok", 120, kept=True),  # newest ok purge
    Planned("d1", None, "rebuild", "ok", 100, kept=False),
    Planned("d3", None, "purge", "failed", 100, kept=True),  # newest failed purge
    Planned("d2", None, "rebuild", "ok", 1, kept=True),  # recent
)
SOURCES = {
    name: SourceConfig(homepage=f"https://{name}.example/", feed=f"https://{name}.example/feed")
    for name in ("a", "b")
}


def write_history(database: Database, now: datetime) -> dict[str, int]:
    """Store the sources and HISTORY; each run's id by label."""
    with database.write_session() as session:
        sync_sources(session, SOURCES, now)
        insert_runs_of(session, [(run.source or "", _row(number, run, now))
                                 for number, run in enumerate(HISTORY)])  # fmt: skip
    with database.session() as session:
        ids = list(session.scalars(select(Run.id).order_by(Run.id)))
    return {run.label: run_id for run, run_id in zip(HISTORY, ids, strict=True)}


def _row(number: int, run: Planned, now: datetime) -> dict[str, Any]:
    started = now - timedelta(days=run.days_ago)
    return {
        "kind": run.kind,
        "status": run.status,
        "started_at": started,
        "finished_at": None if run.status == "running" else started + timedelta(seconds=9),
        "fetched": 10 + number,
        "new": number % 4,
        "updated": number % 3,
        "unchanged": 10 + number - number % 4,
        "failed": 1 if run.status == "failed" else 0,
        "error": f"error {run.label}" if run.status == "failed" else None,
        "owner": "someone:1:alive" if run.status == "running" else None,
        "complete": run.complete,
    }
