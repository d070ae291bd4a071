"""The item pipeline: crawled pages into the ingest core, in batches, off the event loop.

Items collect into batches of ``MUTUALAID_BATCH_SIZE`` (or whatever has waited a second). Each
batch goes to the ingest's extraction pool (``MUTUALAID_WORKERS`` processes, or one thread),
then ``Ingestor.store_prepared`` stores it in one transaction on a single storage thread, so the
reactor never waits on trafilatura or the database. At most two batches per worker are in
flight; beyond that ``process_item`` waits, which slows the downloads to the pace extraction
can keep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self, TypeVar

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from aggregator.config import Config
from aggregator.ingest import ExtractionPool, Ingestor, IngestReport
from aggregator.items import FetchedItem
from aggregator.storage import Database, open_database
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
        self._pool = ExtractionPool(self.workers)
        self.ingestor = Ingestor(self.database, self.config, pool=self._pool)
        self._storer = ThreadPoolExecutor(1, thread_name_prefix="mutualaid-store")
        # The source's context (its learned boilerplate) is read here, off the reactor; the
        # ingestor keeps it up to date as it stores.
        await in_reactor(self._storer.submit(self.ingestor.context, self.source))
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
        self._pool.close()
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
        try:
            extracting = self._pool.submit(batch, self.ingestor.contexts(batch))
            prepared = await in_reactor(extracting)
            report = await in_reactor(self._storer.submit(self.ingestor.store_prepared, prepared))
        except BrokenProcessPool:
            log.error("an extraction process died; restarting the pool")
            self._pool.restart()
            report = _failed(batch, "extraction process died")
        except Exception as exc:  # a batch that cannot be stored must not stop the crawl
            log.exception("a batch of %d pages could not be ingested", len(batch))
            report = _failed(batch, f"ingest failed: {exc!r}")
        self.counters.add_report(report)


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
