"""The ``feed`` kind: an RSS, Atom or JSON Feed, and the pages of entries that lack their text.

Backfill reads the feed's older pages (``?paged=N``).
"""

from __future__ import annotations

from aggregator.config import SourceConfig
from aggregator.kinds import SourceKind
from aggregator.poll.backfill import backfill_from_feed_pages
from aggregator.poll.collect import Collected, Collector, SourceJob
from aggregator.runs import RunKind


class FeedKind:
    name = "feed"

    def state_url(self, source: SourceConfig) -> str | None:
        return source.feed

    def unpolled_reason(self, source: SourceConfig) -> str:
        return "no feed configured"

    def collect(self, collector: Collector, job: SourceJob) -> Collected:
        return collector.run(
            job, RunKind.POLL, lambda http, out: collector.read_feed(job, http, out)
        )

    def backfill(self, collector: Collector, job: SourceJob, count: int) -> Collected:
        return collector.run(
            job,
            RunKind.BACKFILL,
            lambda http, out: backfill_from_feed_pages(collector, job, http, out, count),
        )


KIND: SourceKind = FeedKind()
