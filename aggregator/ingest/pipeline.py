"""The ingest path both front ends share: prepare items in the extraction pool, then store them
in batches (dedup decided by ``ingest.dedup``, applied by ``storage.articles``).

Each batch is one transaction; each item in it is a savepoint, so an item that fails is logged
with its URL and reason and the rest of the batch still commits. Items that are not articles
(listing pages, empty pages, summary-only entries) are skipped with their reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TypeVar

from aggregator.config import Config
from aggregator.ingest.prepare import Candidate, SourceContext, strip_stale_boilerplate
from aggregator.ingest.report import IngestReport
from aggregator.ingest.workers import ExtractionPool, Prepared, Refusal, shared_pool
from aggregator.items import FetchedItem

# ``articles`` and ``boilerplate`` are imported as modules, not names: they import ingest's pure
# parts (candidates, dedup rules, text fields), so either package may be imported first.
from aggregator.storage import Database, DatabaseError, Session, articles, bands, boilerplate
from aggregator.storage.database import is_database_fault
from aggregator.storage.sources import source_ids, sync_sources

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]


class Ingestor:
    """Holds what ingesting needs (database, config, per-source context) across batches.

    Both front ends go through it: a poll hands it items (``ingest``); a crawl submits batches
    to ``pool`` itself, with ``contexts``, and hands back what came out (``store_prepared``).
    """

    def __init__(
        self,
        database: Database,
        config: Config,
        clock: Clock | None = None,
        pool: ExtractionPool | None = None,
        synced_ids: Mapping[str, int] | None = None,
    ) -> None:
        """``synced_ids``: each source's id, from a caller that has just synced the ``sources``
        table with ``config``; without it, the table is synced here."""
        self.database = database
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.pool = pool or shared_pool(config)
        self.profile = config.topic.profile()
        self.options = config.extraction.options()
        self._rules = {name: source.rules.compile() for name, source in config.sources.items()}
        self._contexts: dict[str, SourceContext] = {}
        self.source_ids = dict(synced_ids) if synced_ids is not None else self._sync_sources()

    def _sync_sources(self) -> dict[str, int]:
        with self.database.write_session() as session:
            sync_sources(session, self.config.sources, self.clock())
            return source_ids(session)

    def ingest(self, items: Iterable[FetchedItem], batch_size: int = 50) -> IngestReport:
        """Prepare and store ``items``, one transaction per ``batch_size`` items."""
        report = IngestReport()
        for batch in _batches(items, batch_size):
            report.add(self.store_prepared(self.pool.run(batch, self.contexts(batch))))
        return report

    def contexts(self, items: Iterable[FetchedItem]) -> dict[str, SourceContext]:
        """The context of each configured source among ``items`` (others are refused)."""
        names = {item.source for item in items} & set(self.config.sources)
        return {name: self.context(name) for name in names}

    def context(self, source: str) -> SourceContext:
        """What preparing an item of ``source`` needs, with the boilerplate learned so far."""
        if source not in self._contexts:
            with self.database.session() as session:
                learned = boilerplate.learned_fingerprints(session, self.source_ids[source])
            self._contexts[source] = SourceContext(
                name=source,
                profile=self.profile,
                rules=self._rules[source],
                boilerplate=learned,
                options=self.options,
            )
        return self._contexts[source]

    def store_prepared(self, prepared: Iterable[Prepared]) -> IngestReport:
        """Store the candidates among ``prepared``; report the refusals with their reasons."""
        results = list(prepared)
        report = self.store([one for one in results if isinstance(one, Candidate)])
        for refusal in (one for one in results if isinstance(one, Refusal)):
            if refusal.failed:  # the step logged it, with its traceback
                report.failed.append((refusal.url, refusal.reason))
                continue
            where = _context(refusal.source, refusal.url)
            log.info("skipped %s: %s", refusal.url, refusal.reason, extra=where)
            report.skipped.append((refusal.url, refusal.reason))
        return report

    def store(self, candidates: Sequence[Candidate]) -> IngestReport:
        """Store one batch in one transaction; if it fails, store its items one by one.

        Candidates still holding blocks learned since their extraction lose them first (the
        stale-boilerplate rule, the same for polls and crawls). A fault of the database itself
        (locked, full, disconnected) is no item's fault: it is raised, the batch rolled back
        whole, for the caller to report.
        """
        report = IngestReport()
        if not candidates:
            return report
        now = self.clock()
        try:
            with self.database.write_session() as session:
                learned = self._learned(session, candidates)
                fresh = self._without_stale(candidates, learned)
                entries = [(c, self.source_ids[c.source]) for c in fresh]
                for saved in articles.save_batch(session, entries, now):
                    report.counts[saved.outcome.value] += 1
                self._learn(session, fresh, now, report, learned)
            self._refresh_contexts(learned)
            return report
        except DatabaseError as exc:
            if is_database_fault(exc):
                raise
            log.info("a batch of %d failed; storing its items one by one", len(candidates))
        return self._store_carefully(candidates, now)

    def _store_carefully(self, candidates: Sequence[Candidate], now: datetime) -> IngestReport:
        """The slow path: each item in a savepoint, so one bad item loses only itself."""
        report = IngestReport()
        with self.database.write_session() as session:
            learned = self._learned(session, candidates)
            fresh = self._without_stale(candidates, learned)
            for candidate in fresh:
                self._store_one(session, candidate, now, report)
            self._learn(session, fresh, now, report, learned)
        self._refresh_contexts(learned)
        return report

    def _learned(
        self, session: Session, candidates: Sequence[Candidate]
    ) -> dict[str, frozenset[str]]:
        """The boilerplate of each source in the batch, as learned so far by anyone."""
        sources = {candidate.source for candidate in candidates}
        return {
            name: boilerplate.learned_fingerprints(session, self.source_ids[name])
            for name in sources
        }

    def _without_stale(
        self, candidates: Sequence[Candidate], learned: Mapping[str, frozenset[str]]
    ) -> list[Candidate]:
        """The batch cleaned of blocks learned since it was extracted (by us or another process)."""
        return [strip_stale_boilerplate(c, learned[c.source], self.profile) for c in candidates]

    def _refresh_contexts(self, learned: Mapping[str, frozenset[str]]) -> None:
        """Later batches are extracted with the boilerplate this one saw or learned."""
        for name, fingerprints in learned.items():
            context = self._contexts.get(name)
            if context is not None and context.boilerplate != fingerprints:
                self._contexts[name] = dataclasses.replace(context, boilerplate=fingerprints)

    def _store_one(
        self, session: Session, candidate: Candidate, now: datetime, report: IngestReport
    ) -> None:
        try:
            with session.begin_nested():
                saved = articles.save_candidate(
                    session, candidate, self.source_ids[candidate.source], now
                )
        except DatabaseError as exc:
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
        learned: dict[str, frozenset[str]],
    ) -> None:
        """Learn boilerplate from the batch's blocks and clean what was stored before.

        ``learned`` (each source's learned blocks) gains what this batch taught. Blocks of
        articles older than the learning window are forgotten first. The SimHash bands of
        articles older than the near-duplicate window are forgotten last, so that bands written
        again this batch for an old article (new text, boilerplate stripped) go with it.
        """
        settings = self.config.extraction
        boilerplate.forget_old_blocks(
            session, now, timedelta(days=settings.boilerplate_window_days)
        )
        if settings.learn_boilerplate:
            for source, blocks in _blocks_by_source(candidates).items():
                self._learn_source(session, source, blocks, now, report, learned)
        if settings.near_duplicate_window_days:
            window = timedelta(days=settings.near_duplicate_window_days)
            bands.forget_old_bands(session, now, window)

    def _learn_source(
        self,
        session: Session,
        source: str,
        blocks: dict[str, str],
        now: datetime,
        report: IngestReport,
        learned: dict[str, frozenset[str]],
    ) -> None:
        settings = self.config.extraction
        source_id = self.source_ids[source]
        new = boilerplate.learn_boilerplate(
            session,
            source_id,
            blocks,
            min_articles=settings.boilerplate_min_articles,
            min_authors=settings.boilerplate_min_authors,
            now=now,
        )
        if not new:
            return
        log.info("learned %d boilerplate block(s) for %s", len(new), source, extra=_context(source))
        report.learned += len(new)
        report.cleaned += boilerplate.strip_learned(session, source_id, new, self.profile)
        learned[source] = learned[source] | frozenset(new)


def _blocks_by_source(candidates: Sequence[Candidate]) -> dict[str, dict[str, str]]:
    """Each source's blocks in this batch: fingerprint to label."""
    texts: dict[str, dict[str, str]] = defaultdict(dict)
    for candidate in candidates:
        for block in candidate.blocks:
            texts[candidate.source][block.fingerprint] = block.label
    return texts


def _context(source: str, url: str | None = None) -> dict[str, str]:
    return {"source": source, "url": url} if url else {"source": source}


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
