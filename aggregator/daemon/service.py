"""The daemon: APScheduler jobs per source, the schedule kept in the database.

Each source's poll job runs on the source's interval with jitter; its first run, and every run
after a failure, is moved to the next check the poller stored (backoff included), so a restart
resumes where the last process stopped. Crawls run on their own slower schedule, resumed from the
last crawl in ``runs``. Any run that stored something asks for a feed rebuild; bursts of
requests coalesce into one. ``max_instances=1`` and ``coalesce`` keep a slow source from piling
up, and a misfire grace of one interval lets a late job still run.

Faults: a job that fails (a locked, full or restarting database, a full disk) is rolled back,
logged in one line and recorded in ``runs``; rows the database cannot take now are written by
a retry as soon as it answers again. A poll or crawl the database failed runs again soon, with
a backoff of its own (``schedule.retry_after_fault``), not a whole interval later. Stored times
are not trusted blindly (``schedule``), and a clock that jumps while the daemon runs moves the
jobs with it. SIGTERM ends the fetches and crawls in flight, so the daemon stops well within
``STOP_BOUND``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from aggregator.config import Config
from aggregator.daemon.metrics import Metrics
from aggregator.daemon.runlog import RunLog
from aggregator.daemon.schedule import (
    RECORD_RETRY,
    RECORD_RETRY_CAP,
    ClockWatch,
    first_crawl_at,
    first_poll_at,
    retry_after_fault,
    shifted,
)
from aggregator.daemon.work import (
    WorkResult,
    crawl_source,
    poll_source,
    purge_old,
    rebuild_feeds,
)
from aggregator.kinds import polled
from aggregator.locks import HeldLock, LockBusyError, hold_lock
from aggregator.logs import JOBS_LOGGER
from aggregator.poll.state import Timing
from aggregator.storage import Database
from aggregator.storage.database import describe_error
from aggregator.storage.health import source_health
from aggregator.storage.models import Run, Source

log = logging.getLogger(__name__)
jobs_log = logging.getLogger(JOBS_LOGGER)
Clock = Callable[[], datetime]
REBUILD_DELAY = timedelta(seconds=2)  # requests within this window share one rebuild
STOP_BOUND = 30.0  # seconds running jobs get to commit or roll back on shutdown
WATCH_EVERY = 5.0  # seconds between two looks at the wall clock and at the daemon's lock


def job_line(result: WorkResult) -> str:
    """``poll blog: 3 new, 1 updated``; a failure says why (the outcome and the duration go
    with the line as context fields)."""
    counts = ", ".join(f"{count} {outcome}" for outcome, count in result.counts.items() if count)
    what = result.error if result.status in ("failed", "stopped") else counts or "nothing new"
    return f"{result.kind} {result.source}: {what}" if result.source else f"{result.kind}: {what}"


@dataclass
class CycleReport:
    """What ``run --once`` (one full cycle) did."""

    results: list[WorkResult] = field(default_factory=list)

    @property
    def failed(self) -> list[WorkResult]:
        return [result for result in self.results if result.status == "failed"]

    def summary(self) -> dict[str, int]:
        """Jobs that went well or failed, and the articles they stored, for one closing line."""
        return {
            "jobs_ok": len(self.results) - len(self.failed),
            "jobs_failed": len(self.failed),
            "articles_new": sum(result.counts.get("new", 0) for result in self.results),
            "articles_updated": sum(result.counts.get("updated", 0) for result in self.results),
        }


class Daemon:
    """Schedules polls, crawls and rebuilds for one configuration and database."""

    def __init__(
        self,
        database: Database,
        config: Config,
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        workers: int = 4,
    ) -> None:
        self.database = database
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.metrics = metrics or Metrics()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._rebuild_lock = threading.Lock()
        self._stop = threading.Event()
        self.run_log = RunLog(database)
        self._ignore_stored_due: set[str] = set()  # polls to run whatever the stored next check
        self._taken_over: LockBusyError | None = None
        self.unfinished = False  # a job was still running when the daemon stopped
        self._faults: dict[str, int] = {}  # job id: runs in a row the database failed
        self._record_failures = 0  # flushes of kept runs rows in a row the database refused

    # -- one cycle ------------------------------------------------------------------------------

    def run_once(self) -> CycleReport:
        """Poll every enabled source, crawl those with a crawl block, rebuild; then return."""
        report = CycleReport()
        with hold_lock(self.database, "daemon"):
            for name in self._feed_sources():
                report.results.append(
                    self._record(poll_source(self.database, self.config, name, False))
                )
            for name in self._crawl_sources():
                report.results.append(self._record(crawl_source(self.database, self.config, name)))
            report.results.append(self._record(purge_old(self.database, self.config, self.clock())))
            report.results.append(self.rebuild())
        return report

    # -- running for months -----------------------------------------------------------------------

    def run_forever(self, stop_bound: float = STOP_BOUND) -> None:
        """Run until SIGTERM or SIGINT; then give running jobs ``stop_bound`` seconds.

        Raises ``LockBusyError`` after stopping if another daemon took the database over.
        """
        with hold_lock(self.database, "daemon") as lock:
            self._install_signal_handlers()
            self.scheduler.start()
            self.schedule_all()
            self.request_rebuild()
            log.info("daemon started with %d job(s)", len(self.scheduler.get_jobs()))
            watch = ClockWatch(self.clock(), time.monotonic())
            while not self._stop.wait(WATCH_EVERY):
                jump = watch.jump(self.clock(), time.monotonic())
                if jump is not None:
                    self.after_clock_jump(jump)
                self._keep(lock)
            self._wind_down(stop_bound)
        log.info("daemon stopped")
        if self._taken_over is not None:
            raise self._taken_over

    def stop(self) -> None:
        """Ask the daemon to stop; jobs in flight see it too and end at their next fetch."""
        self._stop.set()

    def _wind_down(self, bound: float) -> None:
        """Wait up to ``bound`` seconds for the running jobs (queued ones return at once).

        A job still running then (stuck in a database wait) is left: ``unfinished`` tells the
        caller to end the process, which rolls its transaction back.
        """
        log.info("stopping: waiting up to %.0fs for running jobs", bound)
        stopper = threading.Thread(
            target=self.scheduler.shutdown, kwargs={"wait": True}, name="stopper", daemon=True
        )
        stopper.start()
        stopper.join(bound)
        if stopper.is_alive():
            self.unfinished = True
            log.warning("a job did not finish in time; its transaction rolls back")

    def _keep(self, lock: HeldLock) -> None:
        """Still the one daemon? A database restart drops the lock; take it back or stop."""
        try:
            lock.check()
        except LockBusyError as exc:
            log.error("another daemon took over this database (%s); stopping", exc)
            self._taken_over = exc
            self.stop()
        except SQLAlchemyError as exc:
            log.warning("cannot check the daemon lock now: %s", describe_error(exc))

    def schedule_all(self) -> None:
        """Add one poll job per feed source and one crawl job per crawled source."""
        now = self.clock()
        with self.database.session() as session:
            health = {h.name: h for h in source_health(session, self._feed_sources())}
            last_crawls = self._last_crawls(session)
        jitter = int(self.config.schedule.jitter.total_seconds())
        for name in self._feed_sources():
            interval = self.config.poll_interval(name)
            known = health.get(name)
            first = first_poll_at(
                known.next_check_at if known else None,
                now,
                Timing(now, interval, self.config.schedule.jitter),
                self._spread(),
                failing=bool(known and known.consecutive_failures),
                feed_ttl=known.feed_ttl if known else None,
            )
            self._add_job(f"poll:{name}", self._poll_job, name, interval, jitter, first)
        if self.config.retention.days is not None:
            self.scheduler.add_job(
                self._purge_job,
                IntervalTrigger(days=1, timezone=UTC),
                id="purge",
                next_run_time=now,
                misfire_grace_time=86400,
                replace_existing=True,
            )
        crawl_every = self.config.schedule.crawl_interval
        for name in self._crawl_sources():
            first = first_crawl_at(last_crawls.get(name), now, crawl_every, self._spread())
            self._add_job(f"crawl:{name}", self._crawl_job, name, crawl_every, jitter, first)

    def request_rebuild(self) -> None:
        if self._stop.is_set():
            return
        self.scheduler.add_job(
            self.rebuild,
            id="rebuild",
            replace_existing=True,
            next_run_time=self.clock() + REBUILD_DELAY,
            misfire_grace_time=None,
            # A request while a rebuild runs must queue behind it (``_rebuild_lock``), not be
            # dropped: with one instance APScheduler would skip the new run and forget it.
            max_instances=2,
        )

    # -- jobs -------------------------------------------------------------------------------------

    def after_clock_jump(self, jump: timedelta) -> None:
        """Move every job by a wall-clock jump, so none waits for a time that will not come."""
        now = self.clock()
        log.warning(
            "the clock jumped %s by %s; moving the schedule with it",
            "back" if jump < timedelta(0) else "forward",
            abs(jump),
        )
        for job in self.scheduler.get_jobs():
            if job.next_run_time is not None:
                self._move(job.id, shifted(job.next_run_time, now, jump, self._spread()))
        # Next checks stored before a jump back lie that much too far ahead: poll each source
        # once on the moved schedule without waiting for them.
        self._ignore_stored_due.update(self._feed_sources())

    # Jobs queued when the daemon stops still get to start: they return at once.

    def _poll_job(self, name: str) -> None:
        if self._stop.is_set():
            return
        due_only = name not in self._ignore_stored_due
        self._ignore_stored_due.discard(name)
        polled = poll_source(self.database, self.config, name, due_only, self._stop)
        result = self._record(polled)
        if self._retry_soon(f"poll:{name}", result, self.config.poll_interval(name)):
            return
        if result.next_check_at and result.next_check_at > self.clock():
            self._move(f"poll:{name}", result.next_check_at)
        if result.stored:
            self.request_rebuild()

    def _crawl_job(self, name: str) -> None:
        if self._stop.is_set():
            return
        result = self._record(crawl_source(self.database, self.config, name, self._stop))
        self._retry_soon(f"crawl:{name}", result, self.config.schedule.crawl_interval)
        if result.stored:
            self.request_rebuild()

    def _purge_job(self) -> None:
        if self._stop.is_set():
            return
        if self._record(purge_old(self.database, self.config, self.clock())).counts.get("purged"):
            self.request_rebuild()

    def rebuild(self) -> WorkResult:
        """Rebuild the feeds now (one rebuild at a time), log and record how it went."""
        if self._stop.is_set():
            return WorkResult("rebuild", "", "skipped")
        with self._rebuild_lock:
            return self._record(rebuild_feeds(self.database, self.config))

    def _retry_soon(self, job_id: str, result: WorkResult, interval: timedelta) -> bool:
        """Move a job the database failed (it raised: no ``runs`` row of its own) to a retry
        soon; True if it was moved. A source's own failures keep the poller's backoff."""
        if result.status != "failed" or result.recorded:
            self._faults.pop(job_id, None)
            return False
        failures = self._faults[job_id] = self._faults.get(job_id, 0) + 1
        wait = retry_after_fault(failures, interval) * random.uniform(1.0, 1.2)  # not all at once
        self._move(job_id, self.clock() + min(wait, interval))
        return True

    def _record_later(self) -> None:
        """Write the kept runs rows once the database answers again, without waiting for
        another job to end: a one-off job, retried with a backoff while it is refused."""
        if self._stop.is_set() or not self.scheduler.running:
            return
        wait = retry_after_fault(self._record_failures + 1, RECORD_RETRY_CAP, RECORD_RETRY)
        with contextlib.suppress(ConflictingIdError):  # a retry is due already
            self.scheduler.add_job(
                self._record_job,
                id="record",
                next_run_time=self.clock() + wait,
                misfire_grace_time=None,
            )

    def _record_job(self) -> None:
        if self.run_log.flush():
            self._record_failures = 0
            return
        self._record_failures += 1
        self._record_later()

    # -- helpers ----------------------------------------------------------------------------------

    def _add_job(
        self,
        job_id: str,
        function: Callable[[str], None],
        name: str,
        every: timedelta,
        jitter: int,
        first: datetime,
    ) -> None:
        seconds = max(1, int(every.total_seconds()))
        self.scheduler.add_job(
            function,
            IntervalTrigger(
                seconds=seconds, jitter=min(jitter, seconds // 2) or None, timezone=UTC
            ),
            args=[name],
            id=job_id,
            next_run_time=first,
            misfire_grace_time=seconds,
            replace_existing=True,
        )

    def _move(self, job_id: str, when: datetime) -> None:
        try:
            self.scheduler.modify_job(job_id, next_run_time=when)
        except Exception:  # the job is gone (shutting down): nothing to move
            log.debug("could not move %s", job_id)

    def _record(self, result: WorkResult) -> WorkResult:
        if not result.recorded:
            self.run_log.add(result, self.clock())
        if self.run_log.pending and not self.run_log.flush():
            self._record_later()
        self.metrics.runs.labels(result.kind, result.source, result.status).inc()
        self.metrics.duration.labels(result.kind).observe(result.seconds)
        for outcome, count in result.counts.items():
            if count:
                self.metrics.items.labels(result.source, outcome).inc(count)
        if result.status == "failed":
            self.metrics.errors.labels(result.kind, result.source).inc()
        elif result.status in ("ok", "not_modified"):
            self.metrics.last_success.labels(result.kind, result.source).set_to_current_time()
        jobs_log.log(
            logging.WARNING if result.status == "failed" else logging.INFO,
            "%s",
            job_line(result),
            extra={
                "source": result.source or None,
                "outcome": result.status,
                "duration": round(result.seconds, 2),
            },
        )
        return result

    def _spread(self) -> timedelta:
        """A random part of the jitter, so jobs due at once do not all start together."""
        return timedelta(seconds=random.uniform(0, self.config.schedule.jitter.total_seconds()))

    def _feed_sources(self) -> list[str]:
        """The sources a poll serves, whatever their kind (``aggregator.kinds``)."""
        return [n for n, s in self.config.sources.items() if s.enabled and polled(s)]

    def _crawl_sources(self) -> list[str]:
        return [
            n for n, s in self.config.sources.items() if s.enabled and getattr(s, "crawl", None)
        ]

    def _last_crawls(self, session: object) -> dict[str, datetime]:
        query = (
            select(Source.name, func.max(Run.started_at))
            .join(Run, Run.source_id == Source.id)
            .where(Run.kind == "crawl")
            .group_by(Source.name)
        )
        return dict(session.execute(query).all())  # type: ignore[attr-defined]

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handle)
            signal.signal(signal.SIGINT, handle)
