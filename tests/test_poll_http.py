"""The pollers' HTTP decisions, on hand-built values: no server, no clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aggregator.fetch import Fetched
from aggregator.poll.http import (
    BACKOFF_CAP,
    MAX_HINT,
    Validators,
    backoff,
    conditional_headers,
    feed_ttl,
    is_modified,
    max_age,
    next_check_after_failure,
    next_check_after_success,
    permanent_target,
    retry_after,
    validators_of,
)
from aggregator.poll.limiter import HostLimiter, host_key, wait_needed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_conditional_headers_carry_only_what_we_hold() -> None:
    assert conditional_headers(Validators()) == {}
    assert conditional_headers(Validators(etag='"abc"')) == {"If-None-Match": '"abc"'}
    both = conditional_headers(Validators('W/"x"', "Mon, 02 Nov 2026 10:00:00 GMT"))
    assert both == {"If-None-Match": 'W/"x"', "If-Modified-Since": "Mon, 02 Nov 2026 10:00:00 GMT"}


def test_validators_are_read_from_response_headers() -> None:
    headers = httpx.Headers({"ETag": ' "v1" ', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"})
    assert validators_of(headers) == Validators('"v1"', "Mon, 02 Nov 2026 10:00:00 GMT")
    assert validators_of(httpx.Headers({"ETag": "  "})) == Validators(None, None)


def test_only_304_means_not_modified() -> None:
    assert not is_modified(304)
    assert is_modified(200) and is_modified(203) and is_modified(500)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=600", timedelta(seconds=600)),
        ("public, max-age=7200, must-revalidate", timedelta(hours=2)),
        ('max-age="300"', timedelta(seconds=300)),
        ("s-maxage=50", None),
        ("no-cache, max-age=600", None),
        ("no-store", None),
        ("max-age=99999999999999", MAX_HINT),
        ("max-age=abc", None),
        ("", None),
        (None, None),
    ],
)
def test_cache_control_max_age(header: str | None, expected: timedelta | None) -> None:
    assert max_age(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", HOUR),
        (" 90 ", timedelta(minutes=90)),
        ("1.5", timedelta(seconds=90)),
        ("100000", MAX_HINT),
        ("0", None),
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_rss_ttl_is_minutes(value: str, expected: timedelta | None) -> None:
    assert feed_ttl(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(minutes=2)),
        ("0", timedelta(0)),
        ("Mon, 30 Nov 2026 13:30:00 GMT", timedelta(minutes=90)),
        ("Monday, 30-Nov-26 13:30:00 GMT", timedelta(minutes=90)),
        ("Mon, 30 Nov 2026 11:00:00 GMT", timedelta(0)),  # already past
        ("999999999999999999999", MAX_HINT),  # huge: clamped
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_HINT),
        ("-30", None),
        ("in a while", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds_dates_huge_and_garbage(
    value: str | None, expected: timedelta | None
) -> None:
    assert retry_after(value, NOW) == expected


def test_backoff_doubles_the_interval_up_to_about_a_day() -> None:
    delays = [backoff(n, HOUR) for n in range(1, 8)]
    assert delays[:5] == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR]
    assert delays[5:] == [BACKOFF_CAP, BACKOFF_CAP]
    assert backoff(10_000, HOUR) == BACKOFF_CAP  # never overflows
    assert backoff(0, HOUR) == HOUR
    # A source polled less often than the cap backs off from its own interval, no faster.
    assert backoff(3, timedelta(days=2)) == timedelta(days=2)


def test_next_check_after_success_takes_the_longest_hint_never_a_shorter_one() -> None:
    assert next_check_after_success(NOW, HOUR) == NOW + HOUR
    assert next_check_after_success(NOW, HOUR, 2 * HOUR, None) == NOW + 2 * HOUR
    assert next_check_after_success(NOW, HOUR, timedelta(minutes=5)) == NOW + HOUR
    jittered = next_check_after_success(NOW, HOUR, jitter=timedelta(minutes=3))
    assert jittered == NOW + HOUR + timedelta(minutes=3)


def test_next_check_after_failure_honours_a_longer_retry_after() -> None:
    assert next_check_after_failure(NOW, 1, HOUR) == NOW + HOUR
    assert next_check_after_failure(NOW, 1, HOUR, timedelta(hours=5)) == NOW + 5 * HOUR
    assert next_check_after_failure(NOW, 3, HOUR, timedelta(minutes=1)) == NOW + 4 * HOUR


def _fetched(url: str, *redirects: tuple[int, str]) -> Fetched:
    return Fetched(url, 200, httpx.Headers(), b"", tuple(redirects))


def test_a_redirect_is_permanent_only_when_every_hop_is() -> None:
    assert permanent_target(_fetched("http://a/feed")) is None
    assert permanent_target(_fetched("http://b/feed", (301, "http://a/feed"))) == "http://b/feed"
    chain = _fetched("http://c/feed", (308, "http://a/feed"), (301, "http://b/feed"))
    assert permanent_target(chain) == "http://c/feed"
    assert permanent_target(_fetched("http://b/feed", (302, "http://a/feed"))) is None
    mixed = _fetched("http://c/feed", (301, "http://a/feed"), (307, "http://b/feed"))
    assert permanent_target(mixed) is None


def test_host_keys_ignore_path_case_and_credentials() -> None:
    assert host_key("https://Example.org/a?b") == "example.org"
    assert host_key("http://user:pw@example.org:8080/x") == "example.org:8080"
    assert host_key("http://127.0.0.1:5000/") != host_key("http://127.0.0.1:5001/")


def test_wait_needed_is_the_rest_of_the_pause() -> None:
    assert wait_needed(None, 100.0, 1.0) == 0.0
    assert wait_needed(100.0, 100.25, 1.0) == pytest.approx(0.75)
    assert wait_needed(100.0, 105.0, 1.0) == 0.0


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_pauses_between_requests_to_one_host_only() -> None:
    time = FakeTime()
    limiter = HostLimiter(2.0, clock=time.clock, sleep=time.sleep)
    with limiter.turn("http://a.example/1"):
        time.now += 0.5  # the request takes half a second
    with limiter.turn("http://b.example/1"):
        pass
    assert time.sleeps == []  # another host: no wait
    with limiter.turn("http://a.example/2"):
        pass
    assert time.sleeps == [2.0]  # the pause counts from the end of the last request


def test_limiter_never_lets_two_requests_to_one_host_overlap() -> None:
    limiter = HostLimiter(0.0)
    inside = 0
    most = 0
    guard = threading.Lock()
    release = threading.Event()

    def request() -> None:
        nonlocal inside, most
        with limiter.turn("http://one.example/"):
            with guard:
                inside += 1
                most = max(most, inside)
            release.wait(0.05)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
