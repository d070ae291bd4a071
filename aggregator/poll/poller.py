"""Poll sources: fetch and parse in worker threads, ingest and record in the calling thread.

Per source, its kind (``aggregator.kinds``) fetches and parses in a worker thread; here the
items are ingested (articles are stored right away), then the source's new
fetch state and a ``runs`` row are written, many sources per transaction (``record``). Each
source's outcome is a value (``SourceResult``), so one bad feed never stops the others, and
``mutualaid status`` reads what was written here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from aggregator.config import Config
from aggregator.errors import FetchStoppedError, UnknownSourceError
from aggregator.fetch import FetchLimits, client_for
from aggregator.ingest import IngestReport
from aggregator.kinds import kind_of
from aggregator.poll.collect import (
    MAX_ITEMS_PER_FEED,
    Collected,
    Collector,
    CollectSettings,
    SourceJob,
    body_hash,
)
from aggregator.poll.http import Fetcher, Validators, max_age, permanent_target, validators_of
from aggregator.poll.known import url_key
from aggregator.poll.limiter import HostLimiter
from aggregator.poll.pending import PendingChanges, PendingRules, settle
from aggregator.poll.record import Recorder, run_row
from aggregator.poll.state import (
    FeedState,
    Timing,
    after_failure,
    after_fetch,
    after_not_modified,
    after_redirect,
    load_states,
    with_kind_state,
)
from aggregator.runs import RunKind
from aggregator.storage import Database, pending
from aggregator.storage.database import describe_error, is_database_fault
from aggregator.storage.sources import source_ids, sync_sources

if TYPE_CHECKING:
    from aggregator.ingest import Ingestor

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class PollSettings:
    workers: int = 4  # sources fetched at once (each host still gets one request at a time)
    host_delay: float = 1.0  # seconds between two requests to one host
    limits: FetchLimits | None = None  # default: from the config's ``network`` section
    collect: CollectSettings = field(default_factory=CollectSettings)
    max_items_per_feed: int = MAX_ITEMS_PER_FEED  # entries read from the top of each feed
    pending: PendingRules = field(default_factory=PendingRules)  # entries whose page waits

    @classmethod
    def from_config(cls, config: Config) -> PollSettings:
        polling = config.polling
        return cls(
            workers=polling.workers,
            host_delay=polling.host_delay,
            collect=CollectSettings(
                max_pages=polling.max_pages, min_words=config.extraction.min_words
            ),
            max_items_per_feed=polling.max_items_per_feed,
            pending=PendingRules(**polling.pending.model_dump()),
        )


@dataclass(frozen=True)
class SourceResult:
    """What polling (or backfilling) one source did."""

    source: str
    kind: RunKind  # poll or backfill
    status: str  # ok, not_modified, failed or skipped
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    failed: int = 0
    requests: int = 0
    error: str | None = None
    next_check_at: datetime | None = None
    moved_to: str | None = None  # the feed's new URL, once a permanent redirect is confirmed
    failures: tuple[tuple[str, str], ...] = field(default=())  # (url, reason) per failed item
    skips: tuple[tuple[str, str], ...] = field(default=())  # (url, reason) per skipped item

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("failures", "skips"):
            data[key] = [{"url": url, "reason": reason} for url, reason in data[key]]
        return data


class Poller:
    """Polls the configured feeds; holds one HTTP client and one ingestor across sources.

    The ingestor (and the extraction machinery it imports) is made when a source first gives
    items to store: a poll of unchanged feeds never needs it.

    Setting ``stop`` (the daemon stopping) ends the fetches in flight at their next read; the
    sources cut short are reported skipped and keep their state, so they are due again.
    """

    def __init__(
        self,
        database: Database,
        config: Config,
        *,
        settings: PollSettings | None = None,
        client: httpx.Client | None = None,
        clock: Clock | None = None,
        jitter: Callable[[], timedelta] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.config = config
        self.settings = settings = settings or PollSettings.from_config(config)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        spread = config.schedule.jitter.total_seconds()
        self.jitter = jitter or (lambda: timedelta(seconds=random.uniform(0, spread)))
        with database.write_session() as session:
            sync_sources(session, config.sources, self.clock())
            self.source_ids = source_ids(session)
        self._ingestor: Ingestor | None = None
        self._ingestor_lock = threading.Lock()  # the daemon's poller polls on several threads
        limits = settings.limits or FetchLimits.from_config(config.network)
        self._own_client = client is None
        self.client = client or client_for(config, limits)
        # Stopping: a source waiting for its host's turn stops waiting, then stops at its fetch.
        limiter = HostLimiter(settings.host_delay, sleep=_sleep_until(stop))
        self.fetcher = Fetcher(self.client, limits, limiter, stop)
        self.collector = Collector(
            database, self.fetcher, self.clock, settings.collect, settings.max_items_per_feed
        )
        self._states: dict[int, FeedState] = {}

    def poll(
        self,
        names: Sequence[str] = (),
        *,
        force: bool = False,
        due_only: bool = False,
        backfill_count: int = 0,
        on_plan: Callable[[int], None] | None = None,
        on_result: Callable[[SourceResult], None] | None = None,
    ) -> list[SourceResult]:
        """Poll the named sources (default: every enabled one); results in the order asked.

        Sources backing off after failures are skipped unless ``force``; with ``due_only``
        (the daemon's way) so are sources whose next check is still ahead. ``on_plan`` hears
        how many results to expect, ``on_result`` each one as it is recorded.
        """
        chosen = self._choose(names)
        jobs, results = self._jobs(chosen, force, due_only)
        # One recorder per call: a long-lived poller (the daemon's) may poll on several threads,
        # and rows a failed call could not write must not be written by another.
        forget = self.clock() - self.settings.pending.keep_given_up
        recorder = Recorder(self.database, forget_given_up_before=forget)
        if on_plan:
            on_plan(len(results) + len(jobs) * (2 if backfill_count > 0 else 1))
        for result in results:
            if on_result:
                on_result(result)
        try:
            for collected in self._collect_all(jobs, backfill_count):
                result = self._finish(collected, recorder)
                results.append(result)
                if on_result:
                    on_result(result)
        finally:
            recorder.flush()
        order = {name: position for position, name in enumerate(chosen)}
        return sorted(results, key=lambda r: (order[r.source], r.kind != RunKind.POLL))

    @property
    def ingestor(self) -> Ingestor:
        with self._ingestor_lock:
            if self._ingestor is None:
                from aggregator.ingest import Ingestor

                self._ingestor = Ingestor(
                    self.database, self.config, clock=self.clock, synced_ids=self.source_ids
                )
            return self._ingestor

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- choosing ---------------------------------------------------------------------------------

    def _choose(self, names: Sequence[str]) -> list[str]:
        sources = self.config.sources
        unknown = [name for name in names if name not in sources]
        if unknown:
            raise UnknownSourceError(unknown[0], list(sources))
        return list(dict.fromkeys(names)) or [n for n, s in sources.items() if s.enabled]

    def _jobs(
        self, names: list[str], force: bool, due_only: bool
    ) -> tuple[list[SourceJob], list[SourceResult]]:
        ids = self.source_ids
        polled: dict[int, str] = {}
        for name in names:
            source = self.config.sources[name]
            url = kind_of(source).state_url(source)
            if url:
                polled[ids[name]] = url
        with self.database.session() as session:
            self._states.update(load_states(session, polled))
            waiting = pending.next_tries(session, polled)
        now = self.clock()
        jobs: list[SourceJob] = []
        skipped: list[SourceResult] = []
        for name in names:
            source = self.config.sources[name]
            reason = self._skip_reason(name, force, due_only, now)
            if reason:
                skipped.append(SourceResult(name, RunKind.POLL, "skipped", error=reason))
                continue
            state = self._states[ids[name]]
            interval = self.config.poll_interval(name)
            job = SourceJob(name, ids[name], source, state, interval)
            has = ids[name] in waiting
            jobs.append(replace(job, has_pending=has, pending_due_at=waiting.get(ids[name])))
        return jobs, skipped

    def _skip_reason(self, name: str, force: bool, due_only: bool, now: datetime) -> str | None:
        source = self.config.sources[name]
        kind = kind_of(source)
        if not kind.state_url(source):
            return kind.unpolled_reason(source)
        if not source.enabled:
            return "disabled in the configuration"
        state = self._states[self.source_ids[name]]
        timing = Timing(now, self.config.poll_interval(name), self.config.schedule.jitter)
        due = state.due_at(now, timing)
        if due_only and due is not None and due > now:
            return f"not due until {due:%Y-%m-%d %H:%M} UTC"
        if not force and state.backing_off(now, timing):
            return (
                f"backing off after {state.consecutive_failures} failure(s) until "
                f"{due:%Y-%m-%d %H:%M} UTC (--force polls anyway)"
            )
        return None

    # -- collecting (worker threads) -----------------------------------------------------------

    def _collect_all(self, jobs: list[SourceJob], backfill_count: int) -> Iterator[Collected]:
        if not jobs:
            return
        workers = max(1, min(self.settings.workers, len(jobs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="poll") as pool:
            futures = [pool.submit(self._collect_one, job, backfill_count) for job in jobs]
            for future in as_completed(futures):
                yield from future.result()

    def _collect_one(self, job: SourceJob, backfill_count: int) -> list[Collected]:
        kind = kind_of(job.source)
        found = [kind.collect(self.collector, job)]
        if backfill_count > 0:
            found.append(kind.backfill(self.collector, job, backfill_count))
        return found

    # -- ingesting and recording (this thread) -------------------------------------------------

    def _finish(self, collected: Collected, recorder: Recorder) -> SourceResult:
        if collected.stopped:  # not the source's failure: its state stays, it is due next time
            reason = FetchStoppedError.REASON
            return SourceResult(collected.job.name, collected.kind, "skipped", error=reason)
        report = self._ingest(collected)
        job = collected.job
        old = self._states[job.source_id]
        state = self._next_state(old, collected, report)
        self._states[job.source_id] = state
        changes = self._settle_pending(collected, report)
        recorder.add(job.source_id, state, run_row(collected, report, self.clock()), changes)
        return _result(collected, report, state, moved=state.moved_to != old.moved_to)

    def _settle_pending(self, collected: Collected, report: IngestReport) -> PendingChanges:
        """The source's pending entries after this poll (none change when it failed)."""
        if collected.pending is None or collected.status == "failed":
            return PendingChanges()
        book = collected.pending
        # The ingest names an item by its normalised URL.
        refused = {url_key(url) or url: reason for url, reason in report.failed}
        failed = {url: refused[key] for url in book.made if (key := url_key(url) or url) in refused}
        changes = settle(book, failed, self.clock(), collected.job.interval, self.settings.pending)
        for entry in changes.given_up:
            log.warning("%s: gave up on %s: %s", collected.job.name, entry.link, entry.last_error)
        return changes

    def _ingest(self, collected: Collected) -> IngestReport:
        if not collected.items:
            return IngestReport()
        try:
            return self.ingestor.ingest(collected.items)
        except Exception as exc:  # storage down, or a bug: this source fails, the run goes on
            reason = describe_error(exc)
            if is_database_fault(exc):  # locked, full, restarting: one line says it all
                log.error("storing items of %s failed: %s", collected.job.name, reason)
            else:
                log.exception("storing items of %s failed", collected.job.name)
            collected.fail(f"storing failed: {reason}")
            return IngestReport()

    def _next_state(
        self, state: FeedState, collected: Collected, report: IngestReport
    ) -> FeedState:
        timing = Timing(self.clock(), collected.job.interval, self.jitter())
        if collected.kind == RunKind.POLL:
            state = _after_poll(state, collected, report, timing)
        if collected.kind_state is not None:
            state = with_kind_state(state, kind_of(collected.job.source).name, collected.kind_state)
        return state


def _sleep_until(stop: threading.Event | None) -> Callable[[float], None]:
    """A sleep that ends early once ``stop`` is set."""
    if stop is None:
        return time.sleep

    def sleep(seconds: float) -> None:
        stop.wait(seconds)

    return sleep


def _after_poll(
    state: FeedState, collected: Collected, report: IngestReport, timing: Timing
) -> FeedState:
    if collected.status == "failed":
        return after_failure(state, timing, collected.error or "failed", collected.wait_asked)
    response = collected.response  # None: the kind read no one document (an API, say)
    hint = max_age(response.headers.get("cache-control")) if response else None
    if collected.status == "not_modified":
        state = after_not_modified(state, timing, hint)
    else:
        state = after_fetch(
            state,
            timing,
            validators=validators_of(response.headers) if response else Validators(),
            body_hash=collected.body_hash or (body_hash(response.body) if response else None),
            ttl=collected.feed.ttl if collected.feed else None,
            max_age=hint,
            # Entries of a feed left unfetched wait in ``pending_entries``; what another kind
            # left unfetched is found again only by reading its document again.
            complete=collected.pending is not None or (collected.complete and not report.failed),
            flags=collected.flags or (),
        )
    if response is None or not collected.follows_moves:
        return state
    return after_redirect(state, permanent_target(response))


def _result(
    collected: Collected, report: IngestReport, state: FeedState, moved: bool
) -> SourceResult:
    counts = report.counts
    status = {"fetched": "ok", "not_modified": "not_modified"}.get(collected.status, "failed")
    return SourceResult(
        source=collected.job.name,
        kind=collected.kind,
        status=status,
        new=counts.get("new", 0),
        updated=counts.get("updated", 0),
        unchanged=counts.get("unchanged", 0) + collected.unchanged,
        duplicate=counts.get("duplicate", 0),
        skipped=len(collected.skipped) + len(report.skipped),
        failed=len(collected.failed) + len(report.failed),
        requests=collected.requests,
        error=collected.error,
        next_check_at=state.next_check_at if collected.kind == RunKind.POLL else None,
        moved_to=state.moved_to if moved else None,
        failures=(*collected.failed, *report.failed),
        skips=(*collected.skipped, *report.skipped),
    )
