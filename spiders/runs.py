"""The ``runs`` rows of crawls: one per crawl (or per worker and source), with what it did."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aggregator.config import Config
from aggregator.runs import RunKind, RunStatus
from aggregator.storage import Database, runs
from aggregator.storage.running import fail_orphans
from aggregator.storage.sources import source_ids, sync_sources


def start_run(
    database: Database, config: Config, source: str, now: datetime, owner: str | None = None
) -> int:
    """Record a crawl of ``source`` as running, by ``owner`` (``storage.running``); return
    the row's id. Runs left running by killed processes are failed on the way."""
    with database.write_session() as session:
        sync_sources(session, config.sources, now)
        fail_orphans(session, database, now)
        return runs.start_run(session, source_ids(session)[source], RunKind.CRAWL, now, owner)


def finish_run(
    database: Database,
    run_id: int,
    counts: Mapping[str, Any],
    now: datetime,
    error: str | None = None,
) -> None:
    """Record the end of a crawl: ``ok`` unless ``error`` says why it failed; ``complete`` when
    it went through the source's whole backlog (``spiders.spider``: nothing cut it short)."""
    with database.write_session() as session:
        runs.finish_run(
            session,
            run_id,
            status=RunStatus.FAILED if error else RunStatus.OK,
            finished_at=now,
            fetched=int(counts.get("pages", 0)),
            new=int(counts.get("new", 0)),
            updated=int(counts.get("updated", 0)),
            unchanged=int(counts.get("unchanged", 0)) + int(counts.get("duplicate", 0)),
            failed=int(counts.get("errors", 0)),
            error=error,
            complete=went_through_backlog(counts, error),
        )


def went_through_backlog(counts: Mapping[str, Any], error: str | None) -> bool:
    """Whether a crawl's final ``counts`` show it read every listing to its end."""
    finished = counts.get("finish_reason") == "finished"  # not interrupted nor shut down
    return error is None and finished and not counts.get("backlog_cut")
