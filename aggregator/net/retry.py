"""How long to wait before asking a server again: ``Retry-After``, and backoff after failures.

Pure functions of header values, ``now`` and settings. The feed poller (``aggregator.poll``)
schedules its next check with them; the crawls (``spiders.retry``) pause a site with them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.dates import parse_date

# Servers' hints (Retry-After here; max-age and ttl in the poller) are honoured up to this long;
# a longer one is clamped, so a typo on their side never silences a source for a month.
MAX_HINT = timedelta(days=1)
# Backoff doubles the wait with each failure in a row, up to this (or the base wait itself,
# when that is longer). A failing source is retried at least this often, forever.
BACKOFF_CAP = timedelta(days=1)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` value (delay in seconds, or an HTTP date) as a delay from ``now``.

    Huge values are clamped to ``MAX_HINT``; dates in the past mean zero; garbage means none.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit() alone takes "²" and "١٢٠"
        delay = timedelta(seconds=min(int(text), 10**9))
    else:
        when = parse_date(text)
        if when is None:
            return None
        delay = when - now
    return clamp(delay, timedelta(0), MAX_HINT)


def backoff(failures: int, interval: timedelta, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """How long to wait after ``failures`` failures in a row: ``interval``, doubled each time."""
    if failures <= 0:
        return interval
    factor = 1 << min(failures - 1, 32)
    return min(interval * factor, max(cap, interval))


def retry_delay(
    attempt: int, retry_after_value: str | None, now: datetime, *, base: float, max_wait: float
) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1 for the first); ``None``: give up.

    The server's ``Retry-After`` wins when it is readable; one longer than ``max_wait`` means
    giving up. Otherwise ``base`` seconds doubled with each attempt, capped at ``max_wait``.
    """
    asked = retry_after(retry_after_value, now)
    if asked is not None:
        seconds = asked.total_seconds()
        return seconds if seconds <= max_wait else None
    waited = backoff(attempt, timedelta(seconds=base), cap=timedelta(seconds=max_wait))
    return min(waited.total_seconds(), max_wait)


def clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(value, high))
