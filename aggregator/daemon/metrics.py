"""Prometheus metrics for the daemon: fetches, errors, items stored and run durations."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """One registry per daemon, so tests (and two daemons in one process) never collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "mutualaid_runs",
            "Polls and crawls finished, by kind, source and status.",
            ["kind", "source", "status"],
            registry=self.registry,
        )
        self.items = Counter(
            "mutualaid_items",
            "Items handled, by source and outcome (new, updated, unchanged, duplicate, ...).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mutualaid_errors",
            "Polls, crawls and rebuilds that failed, by kind and source.",
            ["kind", "source"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "mutualaid_run_duration_seconds",
            "How long polls, crawls and feed rebuilds took.",
            ["kind"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200),
            registry=self.registry,
        )
        self.last_success = Gauge(
            "mutualaid_last_success_timestamp_seconds",
            "When each source was last polled or crawled successfully.",
            ["kind", "source"],
            registry=self.registry,
        )
