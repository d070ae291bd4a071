"""One source's poll, up to the items to ingest: fetch the feed, parse it, fetch what it lacks.

Runs in a worker thread and only reads the database. Whatever goes wrong becomes part of the
returned ``Collected`` (a reason, never an exception), so one bad feed never stops the others.
The poller ingests the items and records the outcome. These are the helpers a kind of source
(``aggregator.kinds``) builds on: ``Collector.run`` (the frame of one poll or backfill),
``Collector.read_feed`` (a feed and the pages its entries lack) and ``Gatherer``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aggregator.config import SourceConfig
from aggregator.errors import FetchError
from aggregator.fetch import Fetched
from aggregator.items import FetchedItem
from aggregator.poll.entries import PlannedEntry, plan_entries, to_item
from aggregator.poll.flags import feed_flags
from aggregator.poll.http import RATE_LIMITED, Fetcher, retry_after
from aggregator.poll.known import KnownEntries, known_entries
from aggregator.poll.pages import fetch_page
from aggregator.poll.parsed import FeedParseError, ParsedFeed
from aggregator.poll.pending import Pending, PendingBook, from_row
from aggregator.poll.state import FeedState
from aggregator.runs import RunKind
from aggregator.storage import Database, pending

log = logging.getLogger(__name__)
Status = Literal["fetched", "not_modified", "failed", "skipped"]
KindState = dict[str, Any]


LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SourceJob:
    """What polling one source needs: its settings and its state from the last poll."""

    name: str
    source_id: int
    source: SourceConfig
    state: FeedState
    interval: timedelta
    # Pending entries (``poll.pending``): whether the source has any, and the earliest next try
    # of those still waiting (None: none waits). Unknown (the default): look them up.
    has_pending: bool = True
    pending_due_at: datetime | None = LONG_AGO


@dataclass
class Collected:
    """What a poll of one source found, before ingesting."""

    job: SourceJob
    kind: RunKind  # poll or backfill
    started_at: datetime
    status: Status = "fetched"
    items: list[FetchedItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0  # entries already stored and not changed since, so not fetched again
    requests: int = 0
    error: str | None = None
    wait_asked: timedelta | None = None  # Retry-After
    response: Fetched | None = None
    body_hash: str | None = None  # of ``response.body``, once it was read whole with a 200
    feed: ParsedFeed | None = None
    complete: bool = True  # everything found was fetched (nothing failed or was deferred)
    # A poll's entries that wanted their page: what became of them (``poll.pending``).
    pending: PendingBook | None = None
    flags: tuple[str, ...] | None = None  # warnings about the feed, when it was read this time
    kind_state: KindState | None = None  # the kind's own state to keep (None: keep the old one)
    # Whether ``response`` answered the state's own URL, so its permanent redirects move it.
    follows_moves: bool = True
    stopped: bool = False  # cut short by the process stopping: nothing of it is to be kept

    def fail(self, reason: str, wait_asked: timedelta | None = None) -> Collected:
        self.status, self.error, self.wait_asked = "failed", reason, wait_asked
        return self


# What a kind does inside ``Collector.run``: fill in ``Collected`` using the counting fetcher.
Work = Callable[[Fetcher, Collected], None]
# Given the entries that lack content and what is stored, get what it can (into the
# ``Collected`` it was made for) and return the entries it did not cover.
Supplement = Callable[[list[PlannedEntry], KnownEntries], list[PlannedEntry]]
MAX_ITEMS_PER_FEED = 500


@dataclass(frozen=True)
class CollectSettings:
    # Article pages fetched per source per poll, the pending entries' included; the rest wait.
    max_pages: int = 30
    api_recheck: timedelta = timedelta(days=7)  # ask a WordPress API that did not answer again
    # Entry content shorter than this is not stored as an article: fetch the page instead.
    min_words: int = 0


class Collector:
    """Polls sources (``collect``) with a shared fetcher; thread-safe."""

    def __init__(
        self,
        database: Database,
        fetcher: Fetcher,
        clock: Callable[[], datetime],
        settings: CollectSettings = CollectSettings(),
        max_items: int = MAX_ITEMS_PER_FEED,
    ) -> None:
        self.database = database
        self.fetcher = fetcher
        self.clock = clock
        self.settings = settings
        self.max_items = max_items  # entries read per feed, from its top; the rest are ignored

    def run(self, job: SourceJob, run_kind: RunKind, work: Work) -> Collected:
        """Run ``work`` (``run_kind``: a poll or a backfill of ``job``) with a fetcher counting
        its requests; never raises: an unexpected error fails this source only."""
        out = Collected(job, run_kind, self.clock())
        http = self.fetcher.counting()
        try:
            work(http, out)
        except Exception as exc:  # a bug must cost one source, not the run
            log.exception("%s of %s failed unexpectedly", run_kind, job.name)
            out.fail(f"internal error: {exc!r}")
        out.requests = http.requests
        out.stopped = http.stopped
        return out

    def read_feed(
        self, job: SourceJob, http: Fetcher, out: Collected, supplement: Supplement | None = None
    ) -> None:
        """Fetch and parse the feed, then get what its entries lack: from ``supplement`` first
        (an API, say), then from their pages; then the pending entries that are due, whether
        the feed changed or not."""
        out.pending = PendingBook(job.state.url)
        self._read_feed(job, http, out, supplement)
        if out.status != "failed":
            self.retry_pending(job, http, out)

    def _read_feed(
        self, job: SourceJob, http: Fetcher, out: Collected, supplement: Supplement | None
    ) -> None:
        try:
            fetched = http.get_feed(job.state.fetch_url, job.state.validators)
        except FetchError as exc:
            out.fail(exc.reason)
            return
        out.response = fetched
        if fetched.status == 304:
            out.status = "not_modified"
            return
        if fetched.status in RATE_LIMITED:
            wait = retry_after(fetched.headers.get("retry-after"), out.started_at)
            out.fail(f"HTTP {fetched.status}: {_rate_limit_reason(wait)}", wait)
            return
        if fetched.status != 200:
            out.fail(f"HTTP {fetched.status}")
            return
        out.body_hash = body_hash(fetched.body)
        if out.body_hash == job.state.body_hash:
            out.status = "not_modified"  # the same bytes as last time: no parse, no writes
            return
        # Imported here: the parsers bring lxml, which a feed answering 304 never needs.
        from aggregator.poll.feeds import parse_feed

        try:
            feed = parse_feed(fetched.body, fetched.headers, fetched.url, self.max_items)
        except FeedParseError as exc:
            out.fail(exc.reason)
            return
        listed = max(feed.listed or 0, len(feed.entries))
        if len(feed.entries) > self.max_items:  # a malformed document read past its cut
            feed = dataclasses.replace(feed, entries=feed.entries[: self.max_items])
        out.feed = feed
        planned, out.skipped = plan_entries(feed, self.settings.min_words)
        known = self.lookup(job, [e.guid for e in planned if e.guid], [e.link for e in planned])
        out.flags = feed_flags(feed, listed, planned, known, out.started_at)
        for flag in out.flags:
            log.warning("%s: %s", job.name, flag)
        if out.pending is not None and job.has_pending:
            out.pending.add_rows(self.pending_rows(job, [entry.link for entry in planned]))
        Gatherer(self, job, http, out).gather(planned, known, self.settings.max_pages, supplement)

    def retry_pending(self, job: SourceJob, http: Fetcher, out: Collected) -> None:
        """Fetch the pages of the source's pending entries that are due, within what is left
        of the poll's page budget (those this poll dealt with already are not fetched again)."""
        book = out.pending
        due_at = job.pending_due_at
        if book is None or due_at is None or due_at > out.started_at:
            return
        budget = self.settings.max_pages - book.pages
        if budget <= 0:
            return
        handled = book.handled
        with self.database.session() as session:
            rows = pending.due_rows(session, job.source_id, out.started_at, budget + len(handled))
        due = [from_row(row) for row in rows if row["link"] not in handled][:budget]
        if not due:
            return
        book.add_rows(due)
        wanted = [row.planned() for row in due]
        known = self.lookup(job, [e.guid for e in wanted if e.guid], [e.link for e in wanted])
        Gatherer(self, job, http, out).from_pages(wanted, known, budget)

    def pending_rows(self, job: SourceJob, links: Sequence[str]) -> list[Pending]:
        """The source's pending entries (waiting or given up) among these links."""
        if not links:
            return []
        with self.database.session() as session:
            return [from_row(row) for row in pending.rows_for_links(session, job.source_id, links)]

    def lookup(self, job: SourceJob, guids: Sequence[str], links: Sequence[str]) -> KnownEntries:
        """Which of these GUIDs and links the source has stored (a read-only transaction)."""
        if not guids and not links:
            return KnownEntries({}, {})
        with self.database.session() as session:
            return known_entries(session, job.source_id, guids, links)


@dataclass
class Visit:
    """One poll or backfill of a source: its job, the fetcher it uses and what it collects.
    The gatherer and each kind's own walk (API, sitemaps) build on it."""

    collector: Collector
    job: SourceJob
    http: Fetcher
    out: Collected

    def _add(self, entry: PlannedEntry, item: FetchedItem) -> None:
        """Collect ``item``, made for the feed's ``entry``: in a poll, an item that then fails
        to be stored keeps its entry pending (the feed's validators are kept regardless)."""
        self.out.items.append(item)
        if self.out.pending is not None:
            self.out.pending.made_item(entry, item.url)


@dataclass
class Gatherer(Visit):
    """Turns planned entries into items: direct content, a kind's ``Supplement``, or pages."""

    now: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.now = self.out.started_at

    def gather(
        self,
        planned: list[PlannedEntry],
        known: KnownEntries,
        max_pages: int,
        supplement: Supplement | None = None,
    ) -> None:
        fetch_all = self.job.source.always_fetch_page
        wanting = []
        for entry in planned:
            if entry.has_content and not fetch_all:
                self._add(entry, to_item(entry, self.job.name, self.now))
            else:
                wanting.append(entry)
        if not wanting:
            return
        if supplement is not None and not fetch_all:
            wanting = supplement(wanting, known)
        self.from_pages(wanting, known, max_pages)

    def from_pages(self, wanting: list[PlannedEntry], known: KnownEntries, limit: int) -> None:
        """Fetch the page of each entry not stored yet, politely, up to ``limit`` pages.

        In a poll (``out.pending`` set), an entry given up is not fetched, one waiting for its
        next try waits, and those left or failed are noted there to be remembered."""
        book = self.out.pending
        fetched = 0
        for entry in wanting:
            if known.find(entry.guid, entry.link):
                self.out.unchanged += 1
                if book is not None:
                    book.stored.add(entry.link)
                continue
            waiting = self._waiting(entry)
            if waiting:
                self.out.skipped.append((entry.link, waiting))
                continue
            if fetched >= limit:
                self.out.skipped.append((entry.link, "left for the next poll (page limit)"))
                self.out.complete = False
                if book is not None:
                    book.deferred[entry.link] = entry
                continue
            fetched += 1
            if book is not None:
                book.pages += 1
            try:
                page_url, html = fetch_page(self.http, entry.link)
            except FetchError as exc:
                self.out.failed.append((entry.link, exc.reason))
                self.out.complete = False
                if book is not None:
                    book.failed[entry.link] = (entry, exc.reason)
                continue
            self._add(entry, to_item(entry, self.job.name, self.now, html=html, page_url=page_url))

    def _waiting(self, entry: PlannedEntry) -> str | None:
        """Why a pending entry is not fetched in this poll, if it is not."""
        book = self.out.pending
        row = book.rows.get(entry.link) if book is not None else None
        if row is None or row.due(self.now):
            return None
        if row.given_up_at is not None:
            return row.last_error or "given up"
        return f"waiting to retry at {row.next_try_at:%Y-%m-%d %H:%M} UTC ({row.last_error})"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _rate_limit_reason(wait: timedelta | None) -> str:
    if wait is None:
        return "rate limited"
    return f"rate limited, asked to wait {int(wait.total_seconds())}s"
