"""A feed's fetch state between polls, and how each kind of poll outcome changes it.

``FeedState`` mirrors a ``fetch_states`` row. The ``after_*`` functions are pure: old state,
what happened, ``now`` and settings in, new state out. Loading and saving rows is at the end.

Rules: validators (ETag, Last-Modified) and the body hash are kept after every feed fetched and
parsed, whatever became of its entries: those whose page is still to be fetched wait on their own
rows (``poll.pending``), so an unchanged feed costs one conditional request. A kind that has no
such rows (the sitemap's pages) keeps the old ones when it left something unfetched. A redirect
moves the feed only when it is permanent (301/308) and the same target was seen twice in a row; a
temporary one never does, and resets the count. A failure never touches the validators, the
stored articles or the feed's URL: it only counts, records its reason and pushes the next check
back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aggregator.poll.http import (
    BACKOFF_CAP,
    MAX_HINT,
    Validators,
    next_check_after_failure,
    next_check_after_success,
)
from aggregator.storage import Session, fetch_states

REDIRECT_CONFIRMATIONS = 2
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class FeedState:
    url: str  # the configured feed URL (or what the kind polls); the row's key with the source
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    ttl_seconds: int | None = None
    moved_to: str | None = None
    redirect_to: str | None = None
    redirect_count: int = 0
    next_check_at: datetime | None = None
    consecutive_failures: int = 0
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    flags: tuple[str, ...] = ()  # warnings from the last reading of the feed (poll.flags)
    # What each kind of source keeps between polls, under its name (``aggregator.kinds``).
    kind_state: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def fetch_url(self) -> str:
        """Where to fetch the feed: its new home after a confirmed move, else the configured URL."""
        return self.moved_to or self.url

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)

    @property
    def ttl(self) -> timedelta | None:
        return timedelta(seconds=self.ttl_seconds) if self.ttl_seconds else None

    def due_at(self, now: datetime, timing: Timing | None = None) -> datetime | None:
        """When the next check is due (None: never polled), under the schedule ``timing``
        configured now (see ``effective_due``); the stored time as is without one."""
        if self.next_check_at is None or timing is None:
            return self.next_check_at
        failing = self.consecutive_failures > 0
        return effective_due(self.next_check_at, now, timing, failing=failing, ttl=self.ttl)

    def backing_off(self, now: datetime, timing: Timing | None = None) -> bool:
        """Failing, and told (by backoff or the server) to wait past ``now``."""
        due = self.due_at(now, timing)
        return self.consecutive_failures > 0 and due is not None and due > now


def longest_wait(interval: timedelta, jitter: timedelta) -> timedelta:
    """The furthest ahead any poll schedules the next check: capped backoff or server hints."""
    return max(interval, BACKOFF_CAP, MAX_HINT) + jitter


def effective_due(
    due: datetime, now: datetime, timing: Timing, *, failing: bool, ttl: timedelta | None
) -> datetime:
    """A stored next check, read under the schedule configured now.

    Further ahead than any poll sets (``longest_wait``), it was stored before the clock went
    back: due now. A source that is not failing waits no longer than its interval (or its
    feed's TTL, when longer) plus the jitter: a time beyond was set under a longer interval than
    the one configured now, and a shortened ``poll_interval`` takes effect now.
    """
    ahead = due - now
    if ahead > longest_wait(timing.interval, timing.jitter):
        return now
    if not failing and ahead > max(timing.interval, ttl or timing.interval) + timing.jitter:
        return now
    return due


@dataclass(frozen=True)
class Timing:
    """What scheduling the next check needs to know."""

    now: datetime
    interval: timedelta
    jitter: timedelta = timedelta(0)


def after_not_modified(state: FeedState, timing: Timing, max_age: timedelta | None) -> FeedState:
    """A 304 (or a body identical to the last one): a success with nothing to store."""
    return dataclasses.replace(
        _succeeded(state, timing),
        next_check_at=next_check_after_success(
            timing.now, timing.interval, max_age, state.ttl, jitter=timing.jitter
        ),
    )


def after_fetch(
    state: FeedState,
    timing: Timing,
    *,
    validators: Validators,
    body_hash: str | None,
    ttl: timedelta | None,
    max_age: timedelta | None,
    complete: bool = True,
    flags: tuple[str, ...] = (),
) -> FeedState:
    """A document fetched and parsed: its validators and body hash are kept, unless
    ``complete`` is False: something it lists was left unfetched and nothing else remembers it
    (a sitemap's pages past the limit), so the old ones stay and it is read again."""
    ttl_seconds = int(ttl.total_seconds()) if ttl else None
    new = dataclasses.replace(
        _succeeded(state, timing),
        ttl_seconds=ttl_seconds,
        flags=flags,
        next_check_at=next_check_after_success(
            timing.now, timing.interval, max_age, ttl, jitter=timing.jitter
        ),
    )
    if not complete:
        return new
    return dataclasses.replace(
        new, etag=validators.etag, last_modified=validators.last_modified, body_hash=body_hash
    )


def after_redirect(state: FeedState, permanent_target: str | None) -> FeedState:
    """Track a successful fetch's redirects; move the feed when a permanent one repeats."""
    if permanent_target is None or permanent_target == state.fetch_url:
        return dataclasses.replace(state, redirect_to=None, redirect_count=0)
    count = state.redirect_count + 1 if state.redirect_to == permanent_target else 1
    if count >= REDIRECT_CONFIRMATIONS:
        return dataclasses.replace(
            state,
            moved_to=permanent_target,
            redirect_to=None,
            redirect_count=0,
            # The validators came from the same final URL, so they stay good.
        )
    return dataclasses.replace(state, redirect_to=permanent_target, redirect_count=count)


def after_failure(
    state: FeedState, timing: Timing, error: str, wait_asked: timedelta | None = None
) -> FeedState:
    """Count the failure, record why, and back off (longer if the server asked for it)."""
    failures = state.consecutive_failures + 1
    return dataclasses.replace(
        state,
        consecutive_failures=failures,
        last_attempt_at=timing.now,
        last_error=error[:MAX_ERROR_LENGTH],
        last_error_at=timing.now,
        next_check_at=next_check_after_failure(
            timing.now, failures, timing.interval, wait_asked, jitter=timing.jitter
        ),
    )


def with_kind_state(state: FeedState, kind: str, value: Mapping[str, Any]) -> FeedState:
    """The state with ``kind``'s part replaced by ``value`` (other kinds' parts stay)."""
    return dataclasses.replace(state, kind_state={**state.kind_state, kind: dict(value)})


def _succeeded(state: FeedState, timing: Timing) -> FeedState:
    return dataclasses.replace(
        state,
        consecutive_failures=0,
        last_attempt_at=timing.now,
        last_success_at=timing.now,
    )


# --- storage -------------------------------------------------------------------------------------

_COLUMNS = [field.name for field in dataclasses.fields(FeedState)]


def load_states(session: Session, feeds: Mapping[int, str]) -> dict[int, FeedState]:
    """The state of each source (``{source_id: its state URL}``); a fresh one if never polled."""
    found: dict[int, FeedState] = {}
    for row in fetch_states.load_rows(session, feeds, _COLUMNS):
        if feeds.get(row["source_id"]) == row["url"]:
            values = {name: row[name] for name in _COLUMNS}
            values["flags"] = tuple(row["flags"] or ())
            values["kind_state"] = dict(row["kind_state"] or {})
            found[row["source_id"]] = FeedState(**values)
    return {sid: found.get(sid) or FeedState(url=url) for sid, url in feeds.items()}


def save_states(session: Session, states: Iterable[tuple[int, FeedState]]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "source_id": source_id,
            **{name: getattr(state, name) for name in _COLUMNS},
            "flags": list(state.flags),
            "kind_state": dict(state.kind_state),
        }
        for source_id, state in states
    ]
    fetch_states.save_rows(session, rows)
