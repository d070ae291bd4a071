"""Which sources are due: the stored schedule read by the poller's rule, and holds in this process.

The database says when each source is due: a feed's next check (read by ``effective_due``, the
rule the poller applies too, which clamps a time from a wrong clock or a longer interval) and a
crawl's last start plus ``crawl_interval`` (clamped the same way). The daemon adds a hold of its
own after each job it ran: the wait the job asked for (a server's ``max-age``, a backoff, the
interval), or a short retry after a database fault. A source is due when both agree. Holds
count on the monotonic clock, so a wall clock jumping forward runs nothing early (no burst);
one jumping back leaves stored times ahead, which the clamp reads as due now once they lie
further than one interval (no stall; a backoff is still waited out, as the poller would).
Plain functions and values: tests pass hand-built times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.poll.state import Timing, effective_due
from aggregator.runs import RunKind
from aggregator.storage.schedule import StoredCheck

FAULT_RETRY = timedelta(seconds=15)  # first retry of a job the database failed
RECORD_RETRY = timedelta(seconds=2)  # first retry of writing runs rows the database refused
RECORD_RETRY_CAP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, order=True)
class Due:
    """One job to hand to a worker: the source's poll or crawl, due since ``since``."""

    since: datetime
    kind: RunKind
    source: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.source}"


def retry_after_fault(
    failures: int, interval: timedelta, first: timedelta = FAULT_RETRY
) -> timedelta:
    """How soon to run again a job that failed ``failures`` times in a row through no fault of
    its source (the database locked or away): ``first``, doubling, at most its ``interval``.

    The source's own backoff is for sources that fail; this one is for the database, which is
    usually back within seconds.
    """
    return min(first * (1 << min(max(failures, 1) - 1, 20)), interval)


def poll_due_at(check: StoredCheck | None, now: datetime, timing: Timing) -> datetime | None:
    """When a feed is due, by its stored next check (None: never polled, due now)."""
    if check is None or check.next_check_at is None:
        return None
    return effective_due(check.next_check_at, now, timing, failing=check.failing, ttl=check.ttl)


def crawl_due_at(last: datetime | None, now: datetime, timing: Timing) -> datetime | None:
    """When a crawl is due: one interval after the last; a last crawl "in the future" (the
    clock went back) is read by the same clamp as a feed's next check."""
    if last is None:
        return None
    return effective_due(last + timing.interval, now, timing, failing=False, ttl=None)


def due_now(wanted: Mapping[str, datetime | None], kind: RunKind, now: datetime) -> list[Due]:
    """The sources of ``wanted`` ({name: due at, None for never}) due at ``now``."""
    return [
        Due(at or datetime.min.replace(tzinfo=now.tzinfo), kind, name)
        for name, at in wanted.items()
        if at is None or at <= now
    ]


class Holds:
    """Jobs this process ran, each held back until a monotonic time."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def hold(self, key: str, wait: timedelta, mono: float) -> None:
        self._until[key] = mono + max(wait.total_seconds(), 0.0)

    def held(self, key: str, mono: float) -> bool:
        return self._until.get(key, mono) > mono
