"""Telling what a job did: a log line, the metrics, and a ``runs`` row if no one else wrote it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.daemon.metrics import Metrics
from aggregator.daemon.runlog import RunLog
from aggregator.daemon.work import WorkResult
from aggregator.logs import JOBS_LOGGER
from aggregator.runs import Outcome

jobs_log = logging.getLogger(JOBS_LOGGER)


def job_line(result: WorkResult) -> str:
    """``poll blog: 3 new, 1 updated``; a failure says why (the outcome and the duration go
    with the line as context fields)."""
    counts = ", ".join(f"{count} {outcome}" for outcome, count in result.counts.items() if count)
    failed = result.status in (Outcome.FAILED, Outcome.STOPPED)
    what = result.error if failed else counts or "nothing new"
    return f"{result.kind} {result.source}: {what}" if result.source else f"{result.kind}: {what}"


@dataclass
class CycleReport:
    """What ``run --once`` (one full cycle) did."""

    results: list[WorkResult] = field(default_factory=list)

    @property
    def failed(self) -> list[WorkResult]:
        return [result for result in self.results if result.status == Outcome.FAILED]

    def summary(self) -> dict[str, int]:
        """Jobs that went well or failed, and the articles they stored, for one closing line."""
        return {
            "jobs_ok": len(self.results) - len(self.failed),
            "jobs_failed": len(self.failed),
            "articles_new": sum(result.counts.get("new", 0) for result in self.results),
            "articles_updated": sum(result.counts.get("updated", 0) for result in self.results),
        }


class Reporter:
    """Logs, counts and records each finished job; thread-safe (jobs end on several threads).

    A row the database cannot take now stays in ``run_log`` for a later ``flush``.
    """

    def __init__(self, run_log: RunLog, metrics: Metrics, clock: Callable[[], datetime]) -> None:
        self.run_log = run_log
        self.metrics = metrics
        self.clock = clock

    def __call__(self, result: WorkResult) -> WorkResult:
        if not result.recorded:
            self.run_log.add(result, self.clock())
        if self.run_log.pending:
            self.run_log.flush()
        self._count(result)
        jobs_log.log(
            logging.WARNING if result.status == Outcome.FAILED else logging.INFO,
            "%s",
            job_line(result),
            extra={
                "source": result.source or None,
                "outcome": str(result.status),
                "duration": round(result.seconds, 2),
            },
        )
        return result

    def _count(self, result: WorkResult) -> None:
        self.metrics.runs.labels(result.kind, result.source, result.status).inc()
        self.metrics.duration.labels(result.kind).observe(result.seconds)
        for outcome, count in result.counts.items():
            if count:
                self.metrics.items.labels(result.source, outcome).inc(count)
        if result.status == Outcome.FAILED:
            self.metrics.errors.labels(result.kind, result.source).inc()
        elif result.status in (Outcome.OK, Outcome.NOT_MODIFIED):
            self.metrics.last_success.labels(result.kind, result.source).set_to_current_time()
