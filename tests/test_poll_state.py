"""Fetch state transitions: pure functions of old state, outcome and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.poll.http import Validators
from aggregator.poll.state import (
    FeedState,
    Timing,
    after_failure,
    after_fetch,
    after_not_modified,
    after_redirect,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TIMING = Timing(NOW, HOUR)
FEED = "http://old.example/feed/"
NEW = "http://new.example/feed/"


def fetched(state: FeedState, complete: bool = True, **hints: timedelta | None) -> FeedState:
    return after_fetch(
        state,
        TIMING,
        validators=Validators('"v2"', "Mon, 30 Nov 2026 11:00:00 GMT"),
        body_hash="hash2",
        ttl=hints.get("ttl"),
        max_age=hints.get("max_age"),
        complete=complete,
    )


def test_a_good_fetch_stores_validators_and_resets_failures() -> None:
    state = FeedState(FEED, etag='"v1"', consecutive_failures=3, last_error="HTTP 500")
    new = fetched(state)
    assert (new.etag, new.body_hash, new.consecutive_failures) == ('"v2"', "hash2", 0)
    assert new.last_success_at == new.last_attempt_at == NOW
    assert new.next_check_at == NOW + HOUR
    assert new.last_error == "HTTP 500"  # kept as history; status shows when it happened


def test_a_fetch_replaces_the_validators_whatever_became_of_its_entries() -> None:
    """Entries still to fetch wait on their own rows (poll.pending), not on the feed's state."""
    state = FeedState(FEED, etag='"v1"', last_modified="old", body_hash="hash1")
    new = fetched(state)
    assert (new.etag, new.last_modified, new.body_hash) == (
        '"v2"',
        "Mon, 30 Nov 2026 11:00:00 GMT",
        "hash2",
    )
    assert new.last_success_at == NOW


def test_an_incomplete_read_with_nothing_remembering_the_rest_keeps_the_old_validators() -> None:
    """A sitemap left pages unfetched: it must be read again to find them."""
    state = FeedState(FEED, etag='"v1"', body_hash="hash1")
    new = fetched(state, complete=False)
    assert (new.etag, new.body_hash) == ('"v1"', "hash1")
    assert new.last_success_at == NOW


def test_ttl_is_remembered_and_honoured_after_a_304() -> None:
    new = fetched(FeedState(FEED), ttl=timedelta(hours=3))
    assert new.next_check_at == NOW + 3 * HOUR
    later = Timing(NOW + 3 * HOUR, HOUR)
    again = after_not_modified(new, later, max_age=None)
    assert again.next_check_at == later.now + 3 * HOUR
    assert again.etag == new.etag


def test_max_age_lengthens_the_wait() -> None:
    assert fetched(FeedState(FEED), max_age=2 * HOUR).next_check_at == NOW + 2 * HOUR
    assert after_not_modified(FeedState(FEED), TIMING, 2 * HOUR).next_check_at == NOW + 2 * HOUR


def test_failures_back_off_and_never_touch_validators_or_url() -> None:
    state = FeedState(FEED, etag='"v1"', moved_to=NEW)
    for expected in (HOUR, 2 * HOUR, 4 * HOUR):
        state = after_failure(state, TIMING, "HTTP 500")
        assert state.next_check_at == NOW + expected
    assert state.consecutive_failures == 3
    assert (state.etag, state.moved_to, state.last_error) == ('"v1"', NEW, "HTTP 500")
    assert state.backing_off(NOW)
    assert not state.backing_off(NOW + 5 * HOUR)


def test_retry_after_wins_when_longer_than_backoff() -> None:
    state = after_failure(FeedState(FEED), TIMING, "HTTP 429", wait_asked=6 * HOUR)
    assert state.next_check_at == NOW + 6 * HOUR


def test_a_long_error_is_cut() -> None:
    assert len(after_failure(FeedState(FEED), TIMING, "x" * 5000).last_error or "") == 500


def test_a_permanent_redirect_moves_the_feed_only_when_it_repeats() -> None:
    once = after_redirect(FeedState(FEED), NEW)
    assert (once.moved_to, once.redirect_to, once.redirect_count) == (None, NEW, 1)
    assert once.fetch_url == FEED
    twice = after_redirect(once, NEW)
    assert (twice.moved_to, twice.redirect_to, twice.redirect_count) == (NEW, None, 0)
    assert twice.fetch_url == NEW
    settled = after_redirect(twice, None)  # fetched at the new URL directly
    assert settled.fetch_url == NEW


def test_a_temporary_redirect_or_a_new_target_starts_over() -> None:
    once = after_redirect(FeedState(FEED), NEW)
    assert after_redirect(once, None).redirect_count == 0  # a 302 in between
    other = after_redirect(once, "http://other.example/feed/")
    assert (other.redirect_to, other.redirect_count, other.moved_to) == (
        "http://other.example/feed/",
        1,
        None,
    )
