"""The units of work the daemon schedules, each safe to run beside a manual CLI run.

Every poll or crawl of a source holds the lock ``source:<name>``; a source another process is
working on is skipped, not fetched twice. Each unit returns what it did instead of raising, so
one failing source never stops the daemon.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aggregator.config import Config
from aggregator.locks import LockBusyError, hold_lock
from aggregator.poll import Poller
from aggregator.publish import write_site
from aggregator.storage import Database
from aggregator.storage.retention import purge_before

log = logging.getLogger(__name__)
STORED = ("new", "updated")


@dataclass(frozen=True)
class WorkResult:
    """What one poll, crawl or rebuild did."""

    kind: str  # poll, crawl or rebuild
    source: str  # "" for a rebuild
    status: str  # ok, not_modified, skipped, busy or failed
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    next_check_at: datetime | None = None
    seconds: float = 0.0

    @property
    def stored(self) -> bool:
        return any(self.counts.get(outcome, 0) for outcome in STORED)


def poll_source(database: Database, config: Config, name: str, due_only: bool) -> WorkResult:
    """Poll one source's feed, unless another process is already polling it."""
    started = time.monotonic()
    try:
        with hold_lock(database, f"source:{name}"), Poller(database, config) as poller:
            (result, *_) = poller.poll([name], due_only=due_only)
    except LockBusyError as exc:
        log.info("not polling %s: %s", name, exc, extra={"source": name})
        return WorkResult("poll", name, "busy", error=str(exc))
    except Exception as exc:  # a bug or a dead database: report it, keep the daemon alive
        log.exception("polling %s failed", name, extra={"source": name})
        return WorkResult("poll", name, "failed", error=repr(exc))
    counts = {
        outcome: getattr(result, outcome)
        for outcome in ("new", "updated", "unchanged", "duplicate", "skipped", "failed")
    }
    return WorkResult(
        "poll",
        name,
        result.status,
        counts,
        result.error,
        result.next_check_at,
        time.monotonic() - started,
    )


def crawl_source(database: Database, config: Config, name: str) -> WorkResult:
    """Crawl one source's listings in a child process, unless another process is crawling it."""
    from spiders.process import CrawlJob, run_crawl  # Scrapy loads only where crawls run

    started = time.monotonic()
    try:
        with hold_lock(database, f"source:{name}:crawl"):
            result = run_crawl(config, CrawlJob(sources=(name,)), database=database)
    except LockBusyError as exc:
        return WorkResult("crawl", name, "busy", error=str(exc))
    except Exception as exc:
        log.exception("crawling %s failed", name, extra={"source": name})
        return WorkResult("crawl", name, "failed", error=repr(exc))
    error = result.error_for(name)
    counts: dict[str, Any] = dict(result.counts.get(name, {}))
    numbers = {key: int(value) for key, value in counts.items() if isinstance(value, int)}
    status = "failed" if error else "ok"
    return WorkResult("crawl", name, status, numbers, error, None, time.monotonic() - started)


def rebuild_feeds(database: Database, config: Config) -> WorkResult:
    """Write the feeds and the page again (atomically, file by file)."""
    started = time.monotonic()
    try:
        report = write_site(database, config)
    except Exception as exc:
        log.exception("rebuilding the feeds failed")
        return WorkResult("rebuild", "", "failed", error=repr(exc))
    written = len(getattr(report, "written", ()) or ())
    return WorkResult(
        "rebuild", "", "ok", {"written": written}, None, None, time.monotonic() - started
    )


def purge_old(database: Database, config: Config, now: datetime) -> WorkResult:
    """Apply ``retention.days``: purge older articles, leaving tombstones."""
    days = config.retention.days
    if days is None:
        return WorkResult("purge", "", "skipped")
    started = time.monotonic()
    try:
        with database.session() as session:
            count = purge_before(session, now - timedelta(days=days), now)
    except Exception as exc:
        log.exception("purging old articles failed")
        return WorkResult("purge", "", "failed", error=repr(exc))
    return WorkResult("purge", "", "ok", {"purged": count}, None, None, time.monotonic() - started)
