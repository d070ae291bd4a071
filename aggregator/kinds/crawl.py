"""The ``crawl`` kind: a site read by the Scrapy listing spider (``spiders/``), not by polls.

``mutualaid crawl NAME`` crawls it now and the daemon on its crawl schedule, both through
``spiders.process.run_crawl`` (``crawl`` here is that call for one source); a poll skips it and
says so. Its progress is kept by the crawl's own runs, not in the fetch state.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from aggregator.config import Config, SourceConfig
from aggregator.kinds import SourceKind
from aggregator.poll.collect import Collected, Collector, SourceJob
from aggregator.runs import RunKind
from aggregator.storage import Database

if TYPE_CHECKING:
    from spiders.process import CrawlResult


class CrawlKind:
    name = "crawl"

    def state_url(self, source: SourceConfig) -> str | None:
        return None

    def unpolled_reason(self, source: SourceConfig) -> str:
        return "crawled, not polled: `mutualaid crawl` reads it (and the daemon, on its schedule)"

    def collect(self, collector: Collector, job: SourceJob) -> Collected:
        return self._refuse(collector, job, RunKind.POLL)

    def backfill(self, collector: Collector, job: SourceJob, count: int) -> Collected:
        return self._refuse(collector, job, RunKind.BACKFILL)

    def crawl(
        self, database: Database, config: Config, name: str, stop: threading.Event | None = None
    ) -> CrawlResult:
        """Crawl the source now in a child process, as ``mutualaid crawl NAME`` does."""
        from spiders.process import CrawlJob, run_crawl  # Scrapy's side, loaded only to crawl

        return run_crawl(config, CrawlJob(sources=(name,)), database=database, stop=stop)

    def _refuse(self, collector: Collector, job: SourceJob, run_kind: RunKind) -> Collected:
        reason = self.unpolled_reason(job.source)

        def refuse(_http: object, out: Collected) -> None:
            out.fail(reason)

        return collector.run(job, run_kind, refuse)


KIND: SourceKind = CrawlKind()
