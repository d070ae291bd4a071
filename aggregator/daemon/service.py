"""The daemon: a short tick asks the database what is due and hands it to the workers.

Every ``schedule.tick`` (and whenever a job ends) APScheduler runs the tick: one read of the
stored schedule (``due``) gives the polls and crawls due now, and the oldest of them go to free
workers, at most ``workers`` at a time. Polls share one ``Poller`` for the daemon's life (one
HTTP client, sources synced once); crawls run in a child process each (``spiders.process``).
The tick also starts the daily purge, a feed rebuild once something was stored (requests within
``REBUILD_DELAY`` share one), and the writing of ``runs`` rows the database refused earlier.

The tick is queued by the main loop, which waits on the monotonic clock, and every wait the
daemon keeps in memory is monotonic too (``due.Holds``): a wall clock that jumps moves nothing
but what the stored times say, and those are clamped by the poller's own rule. A job the
database failed is retried soon with a backoff of its own (``due.retry_after_fault``), not a
whole interval later. SIGTERM ends the fetches and crawls in flight, so the daemon stops well
within ``STOP_BOUND``.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.config import Config
from aggregator.daemon.due import (
    FAULT_RETRY,
    RECORD_RETRY,
    RECORD_RETRY_CAP,
    Due,
    Holds,
    crawl_due_at,
    due_now,
    poll_due_at,
    retry_after_fault,
)
from aggregator.daemon.metrics import Metrics
from aggregator.daemon.report import CycleReport, Reporter
from aggregator.daemon.runlog import RunLog
from aggregator.daemon.work import (
    SharedPoller,
    WorkResult,
    crawl_source,
    poll_source,
    purge_old,
    rebuild_feeds,
)
from aggregator.kinds import polled
from aggregator.poll.state import Timing
from aggregator.runs import Outcome, RunKind
from aggregator.storage import Database, DatabaseError
from aggregator.storage.database import describe_error
from aggregator.storage.locks import HeldLock, LockBusyError, hold_lock
from aggregator.storage.schedule import last_crawls, stored_checks

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
REBUILD_DELAY = 2.0  # seconds: rebuild requests within this window share one rebuild
PURGE_EVERY = 86400.0  # seconds between two purges of old articles and runs
STOP_BOUND = 30.0  # seconds running jobs get to commit or roll back on shutdown
SPARE_THREADS = 2  # beyond the workers: the tick, a rebuild, a purge, writing kept rows


class Daemon:
    """Runs the due polls and crawls, the purge and the rebuilds for one config and database."""

    def __init__(
        self,
        database: Database,
        config: Config,
        *,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        workers: int = 4,
    ) -> None:
        self.database = database
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.monotonic = monotonic
        self.metrics = metrics or Metrics()
        self.workers = workers
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=workers + SPARE_THREADS)},
            job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None},
        )
        self._stop = threading.Event()
        self.run_log = RunLog(database)
        self._report = Reporter(self.run_log, self.metrics, self.clock)
        self.poller = SharedPoller(database, config, clock=self.clock, stop=self._stop)
        self.holds = Holds()
        self._guard = threading.Lock()  # the fields below, set from several threads
        self._in_flight: set[str] = set()  # Due.key of the polls and crawls running now
        self._faults: dict[str, int] = {}  # Due.key: runs in a row the database failed
        self._busy: set[str] = set()  # the tick, purge, rebuild or record job, if queued or running
        self._rebuild_wanted_at: float | None = None  # monotonic, first request not served
        self._purge_at = 0.0  # monotonic: the first purge runs at the start
        self._record_at = 0.0  # monotonic: no retry of kept rows before this
        self._record_failures = 0
        self._rebuild_lock = threading.Lock()
        self._taken_over: LockBusyError | None = None
        self.unfinished = False  # a job was still running when the daemon stopped

    # -- one cycle ------------------------------------------------------------------------------

    def run_once(self) -> CycleReport:
        """Poll every enabled source, crawl those with a crawl block, rebuild; then return."""
        report = CycleReport()
        with hold_lock(self.database, "daemon"):
            try:
                for name in self._feed_sources():
                    result = poll_source(
                        self.database, self.config, name, False, poller=self.poller
                    )
                    report.results.append(self._report(result))
                for name in self._crawl_sources():
                    crawled = crawl_source(self.database, self.config, name)
                    report.results.append(self._report(crawled))
                purged = purge_old(self.database, self.config, self.clock())
                report.results.append(self._report(purged))
                report.results.append(self.rebuild())
            finally:
                self.poller.close()
        return report

    # -- running for months -----------------------------------------------------------------------

    def run_forever(self, stop_bound: float = STOP_BOUND) -> None:
        """Run until SIGTERM or SIGINT; then give running jobs ``stop_bound`` seconds.

        Raises ``LockBusyError`` after stopping if another daemon took the database over.
        """
        every = self.config.schedule.tick.total_seconds()
        with hold_lock(self.database, "daemon") as lock:
            self._install_signal_handlers()
            self.scheduler.start()
            self.request_rebuild()
            log.info(
                "daemon started: %d source(s), a look at the schedule every %gs",
                len(self.config.sources),
                every,
            )
            self.tick_soon()
            while not self._stop.wait(every):  # monotonic: a wall-clock jump cannot stall it
                self._keep(lock)
                self.tick_soon()
            self._wind_down(stop_bound)
        if not self.unfinished:
            self.poller.close()
        log.info("daemon stopped")
        if self._taken_over is not None:
            raise self._taken_over

    def stop(self) -> None:
        """Ask the daemon to stop; jobs in flight see it too and end at their next fetch."""
        self._stop.set()

    def request_rebuild(self) -> None:
        """Rebuild the feeds soon (with whatever else is stored within ``REBUILD_DELAY``)."""
        with self._guard:
            if self._rebuild_wanted_at is None:
                self._rebuild_wanted_at = self.monotonic()

    # -- the tick ------------------------------------------------------------------------------

    def tick_soon(self) -> None:
        """Queue a tick, unless one is queued or running already."""
        self._submit("tick", self.tick)

    def tick(self) -> list[Due]:
        """Start the polls and crawls due now on free workers, and the daemon's own work that is
        due; return the polls and crawls started."""
        try:
            started = self.take_due()
        except DatabaseError as exc:  # the database is away: the next tick asks again
            log.warning("cannot read the schedule now: %s", describe_error(exc))
            started = []
        for due in started:
            self.scheduler.add_job(self.run_job, args=[due], name=due.key)
        self._start_own_work()
        return started

    def take_due(self) -> list[Due]:
        """The oldest due polls and crawls, as many as workers are free; marked running."""
        due = self.due()
        with self._guard:
            free = [item for item in due if item.key not in self._in_flight]
            taken = free[: max(self.workers - len(self._in_flight), 0)]
            self._in_flight.update(item.key for item in taken)
        return taken

    def due(self) -> list[Due]:
        """What the database says is due now, less what is held back here; oldest first."""
        now, mono = self.clock(), self.monotonic()
        crawled = self._crawl_sources()
        with self.database.session() as session:
            checks = stored_checks(session)
            crawls = last_crawls(session) if crawled else {}
        jitter = self.config.schedule.jitter
        polls = {
            name: poll_due_at(
                checks.get((name, self.config.sources[name].feed or "")),
                now,
                Timing(now, self.config.poll_interval(name), jitter),
            )
            for name in self._feed_sources()
        }
        crawl_timing = Timing(now, self.config.schedule.crawl_interval, jitter)
        crawls_due = {name: crawl_due_at(crawls.get(name), now, crawl_timing) for name in crawled}
        found = due_now(polls, RunKind.POLL, now) + due_now(crawls_due, RunKind.CRAWL, now)
        with self._guard:
            return sorted(d for d in found if not self.holds.held(d.key, mono))

    def run_job(self, due: Due) -> WorkResult | None:
        """Poll or crawl one source, tell how it went, hold it back for the wait it asked for."""
        try:
            if self._stop.is_set():  # queued when the daemon began to stop: return at once
                return None
            result = self._report(self._work(due))
            self._hold_after(due, result)
            if result.stored:
                self.request_rebuild()
            return result
        finally:
            with self._guard:
                self._in_flight.discard(due.key)
            self.tick_soon()  # a worker is free

    def rebuild(self) -> WorkResult:
        """Rebuild the feeds now (one rebuild at a time), log and record how it went."""
        if self._stop.is_set():
            return WorkResult(RunKind.REBUILD, "", Outcome.SKIPPED)
        with self._rebuild_lock:
            with self._guard:  # what is stored from now on needs another rebuild
                self._rebuild_wanted_at = None
            return self._report(rebuild_feeds(self.database, self.config))

    # -- helpers ----------------------------------------------------------------------------------

    def _work(self, due: Due) -> WorkResult:
        if due.kind == RunKind.CRAWL:
            return crawl_source(self.database, self.config, due.source, self._stop)
        return poll_source(
            self.database, self.config, due.source, True, self._stop, poller=self.poller
        )

    def _hold_after(self, due: Due, result: WorkResult) -> None:
        """Hold a source back for the wait its job asked for, measured on the monotonic clock."""
        if due.kind == RunKind.CRAWL:
            interval = self.config.schedule.crawl_interval
        else:
            interval = self.config.poll_interval(due.source)
        with self._guard:
            if result.status == Outcome.FAILED and not result.recorded:  # the database failed it
                failures = self._faults[due.key] = self._faults.get(due.key, 0) + 1
                wait = min(retry_after_fault(failures, interval) * random.uniform(1.0, 1.2),
                           interval)  # fmt: skip
            else:
                self._faults.pop(due.key, None)
                wait = self._wait_asked(due, result, interval)
            self.holds.hold(due.key, wait, self.monotonic())

    def _wait_asked(self, due: Due, result: WorkResult, interval: timedelta) -> timedelta:
        if result.next_check_at is not None:  # the poller's: interval, backoff, server hints
            return result.next_check_at - self.clock()
        if due.kind == RunKind.CRAWL and result.status in (Outcome.OK, Outcome.FAILED):
            return interval - timedelta(seconds=result.seconds)  # counted from its start
        return FAULT_RETRY  # busy elsewhere, or skipped: look again a little later

    def _start_own_work(self) -> None:
        """Start the purge, a rebuild or the writing of kept ``runs`` rows, if due."""
        mono = self.monotonic()
        with self._guard:
            retention = self.config.retention
            kept_forever = retention.days is None and retention.runs_days is None
            purge = not kept_forever and mono >= self._purge_at
            if purge:
                self._purge_at = mono + PURGE_EVERY
            wanted = self._rebuild_wanted_at
        if purge:
            self._submit("purge", self._purge)
        if wanted is not None and mono >= wanted + REBUILD_DELAY:
            self._submit("rebuild", self.rebuild)
        if self.run_log.pending and mono >= self._record_at:
            self._submit("record", self._record_kept)

    def _submit(self, name: str, job: Callable[[], Any]) -> None:
        """Run ``job`` on a worker thread, unless one of that name is queued or running: one
        tick at a time, and a rebuild asked for during a rebuild starts once it ends."""
        with self._guard:
            if name in self._busy or self._stop.is_set() or not self.scheduler.running:
                return
            self._busy.add(name)

        def once() -> None:
            try:
                if not self._stop.is_set():  # queued as the daemon began to stop: return now
                    job()
            finally:
                with self._guard:
                    self._busy.discard(name)

        self.scheduler.add_job(once, name=name)

    def _purge(self) -> None:
        if self._report(purge_old(self.database, self.config, self.clock())).counts.get("purged"):
            self.request_rebuild()

    def _record_kept(self) -> None:
        """Write the ``runs`` rows the database refused, backing off while it still refuses."""
        if self.run_log.flush():
            self._record_failures = 0
            return
        self._record_failures += 1
        wait = retry_after_fault(self._record_failures, RECORD_RETRY_CAP, RECORD_RETRY)
        self._record_at = self.monotonic() + wait.total_seconds()

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
        except DatabaseError as exc:
            log.warning("cannot check the daemon lock now: %s", describe_error(exc))

    def _feed_sources(self) -> list[str]:
        """The sources a poll serves, whatever their kind (``aggregator.kinds``)."""
        return [n for n, s in self.config.sources.items() if s.enabled and polled(s)]

    def _crawl_sources(self) -> list[str]:
        return [
            n for n, s in self.config.sources.items() if s.enabled and getattr(s, "crawl", None)
        ]

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handle)
            signal.signal(signal.SIGINT, handle)
