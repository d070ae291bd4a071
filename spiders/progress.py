"""What a crawl has done so far: counters the spider and the pipeline add to, and the events the
crawl process sends its parent (plain tuples and dicts, so they cross a process boundary).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aggregator.ingest import IngestReport

MAX_PROBLEMS = 50

EventKind = Literal["progress", "done", "log", "error"]
# (kind, source or "", payload): progress/done carry counters, log a line, error a message.
Event = tuple[EventKind, str, Any]


@dataclass
class CrawlCounters:
    pages: int = 0  # responses read: listings, articles and sitemaps
    listings: int = 0
    articles: int = 0
    sitemaps: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0  # fetched, but not an article (a listing, an empty or non-HTML page)
    errors: int = 0  # pages that could not be fetched, extracted or stored
    known: int = 0  # article links not fetched: already stored
    old: int = 0  # article links not fetched: older than since
    blocked: int = 0  # requests robots.txt or the allowed domains forbade
    limited: bool = False  # stopped at max_pages
    backlog_cut: str = ""  # why the crawl did not go through the whole backlog ("": it did)
    finish_reason: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add_report(self, report: IngestReport) -> None:
        for outcome in ("new", "updated", "unchanged", "duplicate"):
            setattr(self, outcome, getattr(self, outcome) + report.counts.get(outcome, 0))
        self.skipped += len(report.skipped)
        self.errors += len(report.failed)
        for url, reason in report.failed:
            self.note(url, reason)

    def error(self, url: str, reason: str) -> None:
        self.errors += 1
        self.note(url, reason)

    def note(self, url: str, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((url, reason))

    def snapshot(self) -> dict[str, Any]:
        return asdict(self)


def empty_counts() -> dict[str, Any]:
    return CrawlCounters().snapshot()
