"""The words for runs and jobs: what ran, how its ``runs`` row ends, and how a job went.

One vocabulary for the poller, the crawler, the daemon, the ``runs`` table and the CLI. Each is a
``StrEnum`` whose values are the strings stored and shown, so rows written before these existed
read the same, and a member compares equal to its string.
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    """What a ``runs`` row (and a daemon job) is about."""

    POLL = "poll"
    BACKFILL = "backfill"
    CRAWL = "crawl"
    REBUILD = "rebuild"  # the daemon's own work: no source
    PURGE = "purge"


class RunStatus(StrEnum):
    """Where a ``runs`` row stands; ``running`` only until its crawl ends."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"

    @classmethod
    def of(cls, outcome: str) -> RunStatus:
        """The row for a finished job: failed, or ok (a 304 or a skip is no failure)."""
        return cls.FAILED if outcome == Outcome.FAILED else cls.OK


class Outcome(StrEnum):
    """How one job went: in the daemon's log lines and metrics and in ``run --once``."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    SKIPPED = "skipped"  # not due, disabled, backing off, or the daemon was stopping
    BUSY = "busy"  # another process holds the source's lock
    STOPPED = "stopped"  # cut short by the daemon stopping
    FAILED = "failed"


INTERRUPTED = "interrupted"  # the error of a run whose process died or was stopped mid-crawl
