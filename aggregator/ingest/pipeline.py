"""The ingest path both front ends share: prepare items, then store them in batches.

Each batch is one transaction; each item in it is a savepoint, so an item that fails is logged
with its URL and reason and the rest of the batch still commits. Items that are not articles
(listing pages, empty pages, summary-only entries) are skipped with their reason.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.config import Config
from aggregator.extract import NotAnArticleError
from aggregator.ingest.boilerplate import learn_boilerplate, learned_fingerprints, strip_learned
from aggregator.ingest.prepare import Candidate, SourceContext, prepare_item
from aggregator.ingest.store import Outcome, save_batch, save_candidate
from aggregator.items import FetchedItem
from aggregator.storage import Database
from aggregator.storage.database import is_database_fault
from aggregator.storage.sources import source_ids, sync_sources

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome, and every item it skipped or failed, with why."""

    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    learned: int = 0
    cleaned: int = 0

    def add(self, other: IngestReport) -> None:
        self.counts.update(other.counts)
        self.skipped += other.skipped
        self.failed += other.failed
        self.learned += other.learned
        self.cleaned += other.cleaned

    def as_dict(self) -> dict[str, object]:
        return {
            **{outcome.value: self.counts.get(outcome.value, 0) for outcome in Outcome},
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "learned_boilerplate": self.learned,
        }


class Ingestor:
    """Holds what ingesting needs (database, config, per-source context) across batches."""

    def __init__(self, database: Database, config: Config, clock: Clock | None = None) -> None:
        self.database = database
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.profile = config.topic.profile()
        self.options = config.extraction.options()
        self._rules = {name: source.rules.compile() for name, source in config.sources.items()}
        self._contexts: dict[str, SourceContext] = {}
        with database.write_session() as session:
            sync_sources(session, config.sources, self.clock())
            self.source_ids = source_ids(session)

    def ingest(self, items: Iterable[FetchedItem], batch_size: int = 50) -> IngestReport:
        """Prepare and store ``items``, one transaction per ``batch_size`` items."""
        report = IngestReport()
        for batch in _batches(items, batch_size):
            candidates = [c for c in (self.prepare(item, report) for item in batch) if c]
            report.add(self.store(candidates))
        return report

    def prepare(self, item: FetchedItem, report: IngestReport) -> Candidate | None:
        """Extract one item; a page that is not an article is recorded as skipped."""
        if item.source not in self.config.sources:
            report.skipped.append((item.url, f"unknown source {item.source!r}"))
            return None
        try:
            return prepare_item(item, self.context(item.source))
        except (NotAnArticleError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, NotAnArticleError) else str(exc)
            log.info("skipped %s: %s", item.url, reason, extra=_context(item.source, item.url))
            report.skipped.append((item.url, reason))
        except Exception as exc:  # one broken page must not stop the others
            log.exception(
                "extraction failed for %s", item.url, extra=_context(item.source, item.url)
            )
            report.failed.append((item.url, f"extraction failed: {exc!r}"))
        return None

    def context(self, source: str) -> SourceContext:
        if source not in self._contexts:
            with self.database.session() as session:
                boilerplate = learned_fingerprints(session, self.source_ids[source])
            self._contexts[source] = SourceContext(
                name=source,
                profile=self.profile,
                rules=self._rules[source],
                boilerplate=boilerplate,
                options=self.options,
            )
        return self._contexts[source]

    def store(self, candidates: Sequence[Candidate]) -> IngestReport:
        """Store one batch in one transaction; if it fails, store its items one by one.

        A fault of the database itself (locked, full, disconnected) is no item's fault: it is
        raised, the batch rolled back whole, for the caller to report.
        """
        report = IngestReport()
        if not candidates:
            return report
        now = self.clock()
        try:
            with self.database.write_session() as session:
                entries = [(c, self.source_ids[c.source]) for c in candidates]
                for saved in save_batch(session, entries, now):
                    report.counts[saved.outcome.value] += 1
                self._learn(session, candidates, now, report)
            return report
        except SQLAlchemyError as exc:
            if is_database_fault(exc):
                raise
            log.info("a batch of %d failed; storing its items one by one", len(candidates))
        return self._store_carefully(candidates, now)

    def _store_carefully(self, candidates: Sequence[Candidate], now: datetime) -> IngestReport:
        """The slow path: each item in a savepoint, so one bad item loses only itself."""
        report = IngestReport()
        with self.database.write_session() as session:
            for candidate in candidates:
                self._store_one(session, candidate, now, report)
            self._learn(session, candidates, now, report)
        return report

    def _store_one(
        self, session: Session, candidate: Candidate, now: datetime, report: IngestReport
    ) -> None:
        try:
            with session.begin_nested():
                saved = save_candidate(session, candidate, self.source_ids[candidate.source], now)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            log.error(
                "could not store %s: %s",
                candidate.url,
                reason,
                extra=_context(candidate.source, candidate.url),
            )
            report.failed.append((candidate.url, f"storage failed: {reason}"))
            return
        report.counts[saved.outcome.value] += 1

    def _learn(
        self,
        session: Session,
        candidates: Sequence[Candidate],
        now: datetime,
        report: IngestReport,
    ) -> None:
        """Learn boilerplate from the batch's blocks and clean what was stored before."""
        if not self.config.extraction.learn_boilerplate:
            return
        texts: dict[str, dict[str, str]] = defaultdict(dict)
        for candidate in candidates:
            for block in candidate.blocks:
                texts[candidate.source][block.fingerprint] = block.label
        settings = self.config.extraction
        for source, blocks in texts.items():
            source_id = self.source_ids[source]
            new = learn_boilerplate(
                session,
                source_id,
                blocks,
                min_articles=settings.boilerplate_min_articles,
                min_authors=settings.boilerplate_min_authors,
                now=now,
            )
            if new:
                log.info(
                    "learned %d boilerplate block(s) for %s",
                    len(new),
                    source,
                    extra=_context(source),
                )
                report.learned += len(new)
                report.cleaned += strip_learned(session, source_id, new, self.profile)
                self._contexts.pop(source, None)


def _context(source: str, url: str | None = None) -> dict[str, str]:
    return {"source": source, "url": url} if url else {"source": source}


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
