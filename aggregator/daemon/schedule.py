"""When jobs run, when the wall clock cannot be trusted.

The stored schedule (next checks, last crawls) was written by an earlier process, maybe under a
clock that has since jumped. A time far in the past (the clock jumped forward, or the daemon
was down) means due now, spread over the jitter so a thousand sources do not fire at once; a
time further ahead than any wait the daemon sets (the clock went back) is not waited for. While
the daemon runs, ``ClockWatch`` notices jumps by comparing the wall clock with the monotonic
one, and ``shifted`` moves each job by the jump. A job the database failed is retried soon
(``retry_after_fault``), not a whole interval later. Plain functions of ``now``, so tests pass
hand-built times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aggregator.poll.state import Timing, effective_due

JUMP_TOLERANCE = timedelta(seconds=30)  # wall and monotonic clocks may drift this far apart
FAULT_RETRY = timedelta(seconds=15)  # first retry of a job the database failed
RECORD_RETRY = timedelta(seconds=2)  # first retry of writing runs rows the database refused
RECORD_RETRY_CAP = timedelta(minutes=1)


def retry_after_fault(
    failures: int, interval: timedelta, first: timedelta = FAULT_RETRY
) -> timedelta:
    """How soon to run again a job that failed ``failures`` times in a row through no fault of
    its source (the database locked or away): ``first``, doubling, at most its ``interval``.

    The source's own backoff is for sources that fail; this one is for the database, which is
    usually back within seconds.
    """
    return min(first * (1 << min(max(failures, 1) - 1, 20)), interval)


def first_poll_at(
    due: datetime | None,
    now: datetime,
    timing: Timing,
    spread: timedelta,
    *,
    failing: bool = False,
    feed_ttl: timedelta | None = None,
) -> datetime:
    """A source's first poll after a start, from its stored next check ``due``.

    ``spread`` is a random part of the jitter. The stored time is read as the poller reads it
    (``effective_due``: a backoff or a server's wait kept, a time from a wrong clock or a longer
    interval not); a time not in the future means due now, spread out (at most one interval).
    """
    if due is not None:
        due = effective_due(due, now, timing, failing=failing, ttl=feed_ttl)
        if due > now:
            return due
    return now + min(spread, timing.interval)


def first_crawl_at(
    last: datetime | None, now: datetime, every: timedelta, spread: timedelta
) -> datetime:
    """A source's first crawl after a start: one interval after the last, at most one from now."""
    if last is None:
        return now + spread
    due = min(last + every, now + every)  # a last crawl "in the future": the clock went back
    return due if due > now else now + spread


def shifted(next_run: datetime, now: datetime, jump: timedelta, spread: timedelta) -> datetime:
    """A job's next run after the clock jumped by ``jump`` (negative: back).

    Back: the job moves as much earlier, so it still runs after the real time it was meant to
    wait. Forward: it keeps its time; a job that is now overdue runs soon, spread out.
    """
    moved = next_run + jump if jump < timedelta(0) else next_run
    return moved if moved > now else now + spread


@dataclass
class ClockWatch:
    """Notices the wall clock jumping: it moved unlike the monotonic clock since last asked."""

    wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    mono: float = field(default_factory=time.monotonic)
    tolerance: timedelta = JUMP_TOLERANCE

    def jump(self, wall: datetime, mono: float) -> timedelta | None:
        """How far the wall clock jumped since the last call (None: it did not)."""
        drift = (wall - self.wall) - timedelta(seconds=mono - self.mono)
        self.wall, self.mono = wall, mono
        return drift if abs(drift) > self.tolerance else None
