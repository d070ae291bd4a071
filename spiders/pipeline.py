"""The item pipeline: crawled pages into the ingest core, in batches, off the event loop.

Items collect into batches of ``MUTUALAID_BATCH_SIZE`` (or whatever has waited a second). Each
batch is extracted in the worker pool (``spiders.extraction``), then stored by
``Ingestor.store`` in one transaction on a single storage thread, so the reactor never waits on
trafilatura or the database. At most two batches per worker are in flight; beyond that
``process_item`` waits, which slows the downloads to the pace extraction can keep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self, TypeVar

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from aggregator.config import Config
from aggregator.ingest import Ingestor, IngestReport
from aggregator.ingest.boilerplate import learned_fingerprints
from aggregator.items import FetchedItem
from aggregator.storage import Database, open_database
from spiders.extraction import Prepared, make_executor, prepare_batch, strip_candidate
from spiders.progress import CrawlCounters
from spiders.spider import SourceSpider

log = logging.getLogger(__name__)
T = TypeVar("T")

FLUSH_AFTER = 1.0  # seconds a partial batch may wait for more items


class IngestPipeline:
    def __init__(self, workers: int, batch_size: int, flush_after: float = FLUSH_AFTER) -> None:
        self.workers = workers
        self.batch_size = batch_size
        self.flush_after = flush_after
        self.max_in_flight = max(2, 2 * workers)
        self._buffer: list[FetchedItem] = []
        self._buffered_at = 0.0
        self._in_flight: set[Deferred[None]] = set()
        self._boilerplate: frozenset[str] = frozenset()
        self.crawler: Crawler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(
            workers=crawler.settings.getint("MUTUALAID_WORKERS", 1),
            batch_size=crawler.settings.getint("MUTUALAID_BATCH_SIZE", 20),
        )
        pipeline.crawler = crawler
        return pipeline

    async def open_spider(self, spider: Spider | None = None) -> None:
        spider = self.crawler.spider if self.crawler else spider
        if not isinstance(spider, SourceSpider):
            raise NotConfigured("IngestPipeline works with spiders.spider.SourceSpider only")
        self.source = spider.source
        self.config: Config = spider.config
        self.counters: CrawlCounters = spider.counters
        self.database: Database = open_database(self.config.database.url)
        self.ingestor = Ingestor(self.database, self.config)
        self.source_id = self.ingestor.source_ids[self.source]
        self._storer = ThreadPoolExecutor(1, thread_name_prefix="mutualaid-store")
        self._pool: Executor = make_executor(self.workers, self.config)
        self._boilerplate = await in_reactor(self._storer.submit(self._learned))
        self._ticker = LoopingCall(self._flush_when_stale)
        self._ticker.start(self.flush_after / 2, now=False)

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, FetchedItem):
            return item
        if not self._buffer:
            self._buffered_at = time.monotonic()
        self._buffer.append(item)
        if len(self._buffer) >= self.batch_size:
            self._flush()
        while len(self._in_flight) >= self.max_in_flight:
            await DeferredList(list(self._in_flight), fireOnOneCallback=True)
        return item

    async def close_spider(self, spider: Spider | None = None) -> None:
        if self._ticker.running:
            self._ticker.stop()
        self._flush()
        while self._in_flight:
            await DeferredList(list(self._in_flight))
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._storer.shutdown(wait=True)
        self.database.close()

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        done: Deferred[None] = Deferred.fromCoroutine(self._ingest(batch))
        self._in_flight.add(done)
        done.addBoth(self._landed, done)

    def _landed(self, result: object, done: Deferred[None]) -> None:
        self._in_flight.discard(done)
        if isinstance(result, Failure):  # _ingest catches everything; this is a bug
            log.error("a batch was lost", exc_info=result.value)

    def _flush_when_stale(self) -> None:
        if self._buffer and time.monotonic() - self._buffered_at >= self.flush_after:
            self._flush()

    async def _ingest(self, batch: list[FetchedItem]) -> None:
        used = self._boilerplate
        try:
            extracting = self._pool.submit(prepare_batch, batch, {self.source: used})
            prepared = await in_reactor(extracting)
            report, self._boilerplate = await in_reactor(
                self._storer.submit(self._store, prepared, used)
            )
        except BrokenProcessPool:
            log.error("an extraction process died; restarting the pool")
            self._pool = make_executor(self.workers, self.config)
            report = _failed(batch, "extraction process died")
        except Exception as exc:  # a batch that cannot be stored must not stop the crawl
            log.exception("a batch of %d pages could not be ingested", len(batch))
            report = _failed(batch, f"ingest failed: {exc!r}")
        self.counters.add_report(report)

    def _store(
        self, prepared: Prepared, used: frozenset[str]
    ) -> tuple[IngestReport, frozenset[str]]:
        """On the storage thread: store one batch, then return the boilerplate learned so far.

        Batches are extracted while earlier ones are stored, and other workers learn too:
        blocks learned since this batch was extracted (with ``used``) are taken out of its
        candidates first, as extraction would have done. The set is read again after storing
        only if this batch learned something: what others learn meanwhile, the next batch's
        first read catches, and its candidates are stripped of it here all the same.
        """
        learned = self._learned()
        missed = learned - used
        candidates = [
            strip_candidate(c, missed, self.ingestor.profile) for c in prepared.candidates
        ]
        report = self.ingestor.store(candidates)
        report.skipped += prepared.skipped
        report.failed += prepared.failed
        return report, self._learned() if report.learned else learned

    def _learned(self) -> frozenset[str]:
        with self.database.session() as session:
            return learned_fingerprints(session, self.source_id)


def in_reactor(future: Future[T]) -> Deferred[T]:
    """A Deferred that fires in the reactor thread when ``future`` (from any executor) is done."""
    from twisted.internet import reactor

    deferred: Deferred[T] = Deferred()
    call_from_thread: Callable[..., None] = reactor.callFromThread

    def settle(done: Future[T]) -> None:
        error = done.exception()
        if error is not None:
            call_from_thread(deferred.errback, error)
        else:
            call_from_thread(deferred.callback, done.result())

    future.add_done_callback(settle)
    return deferred


def _failed(batch: list[FetchedItem], reason: str) -> IngestReport:
    report = IngestReport()
    report.failed += [(item.url, reason) for item in batch]
    return report
