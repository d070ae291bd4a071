"""Starting crawls from a parent that never runs Twisted: the CLI today, the daemon tomorrow.

Each crawl runs in a child process started with the spawn method (``spiders.run`` inside), so a
parent can start crawls one after another. The child sends events on a multiprocessing queue:
progress counters, log lines, ``done`` with each source's final counts, or ``error``. This
module imports neither Scrapy nor Twisted.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aggregator.config import Config
from aggregator.errors import MutualAidError
from aggregator.runs import INTERRUPTED
from aggregator.storage import Database
from aggregator.storage.running import owning_runs
from spiders.plan import CrawlOptions
from spiders.progress import Event
from spiders.runs import finish_run, start_run
from spiders.settings import RedisTarget

log = logging.getLogger(__name__)
STOP_GRACE = 30.0  # seconds a crawl has to finish its batches after Ctrl-C
CANCEL_GRACE = 3.0  # seconds a crawl gets at each step of being stopped by its parent


@dataclass(frozen=True)
class CrawlJob:
    """What a crawl process is asked to do. ``shared`` makes it a worker of a Redis crawl."""

    sources: tuple[str, ...]
    options: CrawlOptions = field(default_factory=CrawlOptions)
    shared: RedisTarget | None = None
    idle_exit: float | None = None  # workers: stop after this long with nothing to do
    workers: int | None = None  # extraction processes; None: the config's crawling.workers
    settings: dict[str, Any] = field(default_factory=dict)  # extra Scrapy settings
    log_level: int = logging.WARNING


@dataclass
class CrawlResult:
    """Final counts per source, and why a source (or the whole crawl, under "") failed."""

    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error_for(self, source: str) -> str | None:
        if source in self.errors:
            return self.errors[source]
        if "" in self.errors:
            return self.errors[""]
        if source not in self.counts:
            return "the crawl process ended without a result"
        return _nothing_fetched(self.counts[source])


def _nothing_fetched(counts: dict[str, Any]) -> str | None:
    """A crawl that fetched no page at all, only problems (site down, closed by robots.txt)."""
    problems = counts.get("problems") or []
    if counts.get("pages", 0) or not problems:
        return None  # a shared crawl's worker may find nothing left to do: that is no failure
    return f"nothing could be fetched: {problems[0][1]}"


class CrawlProcess:
    """One child process running one ``CrawlJob``."""

    def __init__(self, job: CrawlJob, config: Config) -> None:
        context = multiprocessing.get_context("spawn")
        self._events: multiprocessing.Queue[Event] = context.Queue()
        self._process = context.Process(
            target=_child_main,
            args=(job, config, self._events, os.getpid()),
            name="mutualaid-crawl",
        )

    def start(self) -> None:
        self._process.start()

    def events(self, poll: float = 0.2, stop: threading.Event | None = None) -> Iterator[Event]:
        """Every event the child sends, until it has exited and its queue is empty; or until
        ``stop`` is set, when the caller is to end the child (``cancel``)."""
        while stop is None or not stop.is_set():
            try:
                yield self._events.get(timeout=poll)
            except queue.Empty:
                if not self._process.is_alive():
                    break
        else:
            return
        while True:
            try:
                yield self._events.get(timeout=0.05)
            except queue.Empty:
                return

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Wait for the child (which got the Ctrl-C too) to wind down; terminate it if it won't."""
        self._process.join(grace)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def cancel(self, grace: float = CANCEL_GRACE) -> None:
        """End the child soon: SIGTERM (Scrapy's graceful stop, which waits for the requests in
        flight), after ``grace`` a second one (Scrapy stops at once), then SIGKILL."""
        for stage in (self._process.terminate, self._process.terminate, self._process.kill):
            if not self._process.is_alive():
                return
            stage()
            self._process.join(grace)

    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode


def run_crawl(
    config: Config,
    job: CrawlJob,
    on_event: Callable[[Event], None] = lambda event: None,
    database: Database | None = None,
    stop: threading.Event | None = None,
) -> CrawlResult:
    """Run ``job`` in a child process and wait for it; with ``database``, record a run per source.

    Ctrl-C stops the crawl gracefully (Scrapy finishes what is in flight) and is then re-raised.
    Setting ``stop`` (the daemon stopping) ends the child within three times ``CANCEL_GRACE``
    seconds; the crawl then fails as "interrupted".
    """
    with owning_runs(database) if database else nullcontext("") as owner:
        return _run_crawl(config, job, on_event, database, owner, stop)


def _run_crawl(
    config: Config,
    job: CrawlJob,
    on_event: Callable[[Event], None],
    database: Database | None,
    owner: str,
    stop: threading.Event | None,
) -> CrawlResult:
    started = datetime.now(UTC)
    runs: dict[str, int] = {}
    if database is not None:
        runs = {s: start_run(database, config, s, started, owner) for s in job.sources}
    process = CrawlProcess(job, config)
    result = CrawlResult()
    interrupted = stopped = False
    try:
        process.start()
        for event in process.events(stop=stop):
            _collect(event, result)
            on_event(event)
        stopped = stop is not None and stop.is_set() and process.alive()
    except KeyboardInterrupt:
        interrupted = True
        for event in _drain_after_interrupt(process):
            _collect(event, result)
    finally:
        if stop is not None and stop.is_set():
            process.cancel()
        else:
            process.stop()
        if interrupted or stopped:
            result.errors.setdefault("", INTERRUPTED)
        elif process.exitcode not in (0, None) and not result.errors:
            result.errors[""] = f"the crawl process exited with code {process.exitcode}"
        if database is not None:
            _finish_runs(database, runs, result)
    if interrupted:
        raise KeyboardInterrupt
    return result


def _drain_after_interrupt(process: CrawlProcess) -> Iterator[Event]:
    try:
        yield from process.events()
    except KeyboardInterrupt:
        return


def _collect(event: Event, result: CrawlResult) -> None:
    kind, source, payload = event
    if kind in ("progress", "done"):
        result.counts[source] = payload
    elif kind == "error":
        result.errors[source] = str(payload)


def _finish_runs(database: Database, runs: dict[str, int], result: CrawlResult) -> None:
    now = datetime.now(UTC)
    for source, run_id in runs.items():
        finish_run(database, run_id, result.counts.get(source, {}), now, result.error_for(source))


def _child_main(
    job: CrawlJob, config: Config, events: multiprocessing.Queue[Event], parent: int
) -> None:
    """The child's entry point: imports Scrapy only here, reports any failure as an event."""
    _end_with_parent(parent)
    try:
        from spiders.run import run_job

        run_job(job, config, events.put)
        events.close()
        events.join_thread()  # every event is in the pipe: skip the interpreter's slow teardown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except MutualAidError as exc:
        events.put(("error", "", str(exc)))
        raise SystemExit(1) from None
    except Exception as exc:
        traceback.print_exc()
        events.put(("error", "", f"the crawl failed: {exc!r}"))
        raise SystemExit(1) from None


PR_SET_PDEATHSIG = 1  # prctl(2) option: a signal for this process when its parent dies


def _end_with_parent(parent: int) -> None:
    """On Linux, ask for SIGTERM (Scrapy's graceful stop) when the parent dies.

    A parent killed with ``kill -9`` (the daemon, ``mutualaid crawl``) can no longer record
    the crawl, nor hold the source's lock: its crawl must not go on storing unwatched. (Linux
    sends it when the parent's thread that started the child ends: that thread waits for the
    crawl.) Elsewhere the crawl runs to its end as before.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)
