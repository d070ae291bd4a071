"""Every workload the benchmark knows, by name. Later stages add theirs here."""

from __future__ import annotations

from bench.harness import Workload
from bench.workloads import (
    archive,
    crawl,
    extraction,
    polling,
    publish,
    search,
    serve,
    startup,
    status,
    storage,
)

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        storage.BATCH_INSERT,
        extraction.EXTRACT,
        extraction.EXTRACT_REAL,
        extraction.EXTRACT_REAL_LXML,
        extraction.EXTRACT_REAL_METADATA,
        extraction.INGEST,
        publish.BUILD_FEED,
        publish.BUILD_FEED_UNMARKED,
        serve.SERVE_BURST,
        polling.POLL_TWICE,
        polling.FEED_PARSE,
        crawl.CRAWL_INGEST,
        crawl.CRAWL_WORKERS,
        *startup.WORKLOADS,
        status.STATUS,
        archive.INGEST_INTO_ARCHIVE,
        search.SEARCH,
    )
}
