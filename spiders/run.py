"""Inside the crawl process: build the Scrapy crawlers for a job, run the reactor, report back.

Runs in a child process (``spiders.process`` starts it with the spawn method), because Twisted's
reactor can be started only once per process: the CLI and the daemon start crawls again and
again. Everything the parent hears goes through ``send``: progress counters every quarter
second, log lines, and one ``done`` event per source at the end.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import ScrapyDeprecationWarning
from twisted.python.failure import Failure

from aggregator.config import Config
from aggregator.storage import Database, open_database
from spiders.known import has_complete_crawl, load_known
from spiders.plan import CrawlPlan, make_plan
from spiders.process import CrawlJob
from spiders.progress import Event
from spiders.settings import build_settings
from spiders.spider import SourceSpider

Send = Callable[[Event], None]


def run_job(job: CrawlJob, config: Config, send: Send) -> None:
    """Crawl every source of ``job`` in one reactor; returns when all of them have finished."""
    _forward_logs(send, job.log_level)
    workers = job.workers if job.workers is not None else config.crawling.workers
    if workers is None:
        workers = os.cpu_count() or 1
    settings = build_settings(config, workers=workers, redis=job.shared, overrides=job.settings)
    database = open_database(config.database.url)
    process = CrawlerProcess({**settings, "LOG_INSTALL_ROOT_HANDLER": False})
    crawlers: list[tuple[str, Crawler]] = []
    failures: dict[str, str] = {}
    try:
        plans = [_plan(source, job, config, database) for source in job.sources]
        for plan in plans:
            spider_class, extra = _spider_for(job)
            crawler = process.create_crawler(spider_class)
            deferred = process.crawl(
                crawler,
                plan=plan,
                config=config,
                load_known=partial(load_known, database, plan.source),
                report=lambda source, counts: send(("progress", source, counts)),
                **extra,
            )
            deferred.addErrback(_remember_failure, plan.source, failures)
            crawlers.append((plan.source, crawler))
        process.start()
    finally:
        database.close()
    for source, crawler in crawlers:
        spider = crawler.spider
        if source in failures or not isinstance(spider, SourceSpider):
            send(("error", source, failures.get(source, "the crawl did not start")))
        else:
            send(("done", source, _final_counts(spider, job)))


def _final_counts(spider: SourceSpider, job: CrawlJob) -> dict[str, Any]:
    counts = spider.counters.snapshot()
    if job.shared is not None and not counts["backlog_cut"]:
        counts["backlog_cut"] = "a worker of a shared crawl reads only part of it"
    return counts


def _plan(source: str, job: CrawlJob, config: Config, database: Database) -> CrawlPlan:
    """The source's plan; paging stops at stored links once a crawl went through its backlog."""
    done = has_complete_crawl(database, source)
    return make_plan(source, config.sources[source], job.options, config.origin, backlog_done=done)


def _spider_for(job: CrawlJob) -> tuple[type[SourceSpider], dict[str, Any]]:
    if job.shared is None:
        return SourceSpider, {}
    from spiders.shared import SharedSourceSpider  # Redis is an extra: imported only here

    return SharedSourceSpider, {
        "redis_url": job.shared.url,
        "prefix": job.shared.prefix,
        "idle_exit": job.idle_exit,
    }


def _remember_failure(failure: Failure, source: str, failures: dict[str, str]) -> None:
    error = failure.value if isinstance(failure.value, BaseException) else None
    logging.getLogger(__name__).error("crawl of %s failed", source, exc_info=error)
    failures[source] = failure.getErrorMessage()


class _Forward(logging.Handler):
    def __init__(self, send: Send, level: int) -> None:
        super().__init__(level)
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send(("log", record.levelname, f"{record.name}: {record.getMessage()}"))
        except Exception:  # a log line must never break the crawl
            self.handleError(record)


def _forward_logs(send: Send, level: int) -> None:
    # scrapy-redis still passes spider= to the stats collector; nothing a user can act on.
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [_Forward(send, level)]
    root.setLevel(level)
    for noisy in ("scrapy", "twisted", "trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
