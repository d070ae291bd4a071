"""The units of work the daemon schedules, each safe to run beside a manual CLI run.

Every poll or crawl of a source holds the lock ``source:<name>``; a source another process is
working on is skipped, not fetched twice. Each unit returns what it did instead of raising, so
one failing source never stops the daemon. Expected failures (a locked, full or restarting
database, a full disk, an unwritable folder) come back as a one-line reason; only an
unexpected exception (a bug) is logged with its traceback. Polls share one ``Poller``
(``SharedPoller``): one HTTP client, one per-host limit, sources synced once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.config import Config
from aggregator.errors import MutualAidError
from aggregator.poll import Poller
from aggregator.publish import write_site
from aggregator.publish.manifest import prune_seen_changes
from aggregator.runs import Outcome, RunKind
from aggregator.storage import Database
from aggregator.storage.database import describe_error, is_database_fault
from aggregator.storage.fulltext import merge_index
from aggregator.storage.locks import LockBusyError, hold_lock
from aggregator.storage.retention import purge_before
from aggregator.storage.runs import purge_runs_before

log = logging.getLogger(__name__)
STORED = ("new", "updated")


@dataclass(frozen=True)
class WorkResult:
    """What one poll, crawl or rebuild did."""

    kind: RunKind  # poll, crawl, purge or rebuild
    source: str  # "" for a rebuild or a purge
    status: Outcome
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    next_check_at: datetime | None = None
    seconds: float = 0.0
    started_at: datetime | None = None
    # Whether a ``runs`` row says what happened (the poller and the crawler write their own);
    # the daemon writes the others, later if the database cannot take it now.
    recorded: bool = True

    @property
    def stored(self) -> bool:
        return any(self.counts.get(outcome, 0) for outcome in STORED)


class SharedPoller:
    """The daemon's one ``Poller``, made on first use (the database may be away at the start:
    making it syncs the sources in a write transaction) and kept until ``close``."""

    def __init__(
        self,
        database: Database,
        config: Config,
        *,
        clock: Callable[[], datetime] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._make: Callable[[], Poller] = lambda: Poller(database, config, clock=clock, stop=stop)
        self._poller: Poller | None = None
        self._lock = threading.Lock()

    def get(self) -> Poller:
        with self._lock:
            if self._poller is None:
                self._poller = self._make()
            return self._poller

    def close(self) -> None:
        with self._lock:
            if self._poller is not None:
                self._poller.close()
            self._poller = None


def _failed(
    kind: RunKind, source: str, exc: Exception, started_at: datetime, started: float
) -> WorkResult:
    """The result of a unit that raised: an expected fault is one line, a bug a traceback."""
    if not (isinstance(exc, MutualAidError | OSError) or is_database_fault(exc)):
        log.exception("%s of %s failed unexpectedly", kind, source or "the feeds")
    return WorkResult(
        kind,
        source,
        Outcome.FAILED,
        error=describe_error(exc),
        seconds=time.monotonic() - started,
        started_at=started_at,
        recorded=False,
    )


def poll_source(
    database: Database,
    config: Config,
    name: str,
    due_only: bool,
    stop: threading.Event | None = None,
    *,
    poller: SharedPoller | None = None,
) -> WorkResult:
    """Poll one source's feed with ``poller`` (default: one for this poll only), unless another
    process is already polling it; ``stop`` ends it early (skipped, its state kept)."""
    started, started_at = time.monotonic(), datetime.now(UTC)
    shared = poller or SharedPoller(database, config, stop=stop)
    try:
        with hold_lock(database, f"source:{name}"):
            (result, *_) = shared.get().poll([name], due_only=due_only)
    except LockBusyError as exc:
        log.info("not polling %s: %s", name, exc, extra={"source": name})
        return WorkResult(RunKind.POLL, name, Outcome.BUSY, error=str(exc))
    except Exception as exc:  # a dead database or a bug: report it, keep the daemon alive
        return _failed(RunKind.POLL, name, exc, started_at, started)
    finally:
        if poller is None:
            shared.close()
    counts = {
        outcome: getattr(result, outcome)
        for outcome in ("new", "updated", "unchanged", "duplicate", "skipped", "failed")
    }
    stopped = stop is not None and stop.is_set() and result.status == Outcome.SKIPPED
    return WorkResult(
        RunKind.POLL,
        name,
        Outcome.STOPPED if stopped else Outcome(result.status),
        counts,
        result.error,
        result.next_check_at,
        time.monotonic() - started,
        started_at,
    )


def crawl_source(
    database: Database, config: Config, name: str, stop: threading.Event | None = None
) -> WorkResult:
    """Crawl one source's listings in a child process, unless another process is crawling it;
    ``stop`` ends the crawl early (its run failed as interrupted)."""
    from spiders.process import CrawlJob, run_crawl  # Scrapy loads only where crawls run

    started, started_at = time.monotonic(), datetime.now(UTC)
    try:
        with hold_lock(database, f"source:{name}:crawl"):
            result = run_crawl(config, CrawlJob(sources=(name,)), database=database, stop=stop)
    except LockBusyError as exc:
        return WorkResult(RunKind.CRAWL, name, Outcome.BUSY, error=str(exc))
    except Exception as exc:
        return _failed(RunKind.CRAWL, name, exc, started_at, started)
    error = result.error_for(name)
    counts: dict[str, Any] = dict(result.counts.get(name, {}))
    numbers = {key: int(value) for key, value in counts.items() if isinstance(value, int)}
    status = Outcome.FAILED if error else Outcome.OK
    seconds = time.monotonic() - started
    return WorkResult(RunKind.CRAWL, name, status, numbers, error, None, seconds, started_at)


def rebuild_feeds(database: Database, config: Config) -> WorkResult:
    """Write the feeds and the page again (atomically, file by file; a failure keeps the old),
    then merge the search index's segments the new articles added."""
    started, started_at = time.monotonic(), datetime.now(UTC)
    try:
        report = write_site(database, config)
    except Exception as exc:
        return _failed(RunKind.REBUILD, "", exc, started_at, started)
    written = len(getattr(report, "written", ()) or ())
    merged = _merge_search_index(database)
    seconds = time.monotonic() - started
    return WorkResult(
        RunKind.REBUILD,
        "",
        Outcome.OK,
        {"written": written, "search_merges": merged},
        None,
        None,
        seconds,
        started_at,
        recorded=False,
    )


def _merge_search_index(database: Database) -> int:
    """The merge steps done; one that fails costs searches some speed, not the rebuild."""
    try:
        return merge_index(database)
    except Exception as exc:
        log.warning("the search index was not merged: %s", describe_error(exc))
        return 0


def purge_old(database: Database, config: Config, now: datetime) -> WorkResult:
    """Apply ``retention``: purge older articles, leaving tombstones (``days``), and fold older
    runs into per-source totals (``runs_days``)."""
    days, runs_days = config.retention.days, config.retention.runs_days
    if days is None and runs_days is None:
        return WorkResult(RunKind.PURGE, "", Outcome.SKIPPED)
    started, started_at = time.monotonic(), datetime.now(UTC)
    counts: dict[str, int] = {}
    try:
        if days is not None:
            counts["purged"] = purge_before(database, now - timedelta(days=days), now)
            counts["changes_pruned"] = prune_seen_changes(database, config.output.dir)
        if runs_days is not None:
            counts["runs_purged"] = purge_runs_before(database, now - timedelta(days=runs_days))
    except Exception as exc:
        return _failed(RunKind.PURGE, "", exc, started_at, started)
    seconds = time.monotonic() - started
    return WorkResult(
        RunKind.PURGE,
        "",
        Outcome.OK,
        counts,
        None,
        None,
        seconds,
        started_at,
        recorded=False,
    )
