"""Faults of time: a source down for a week, a clock that jumps forward or back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.config import load_config
from aggregator.daemon import Daemon
from aggregator.daemon.schedule import (
    FAULT_RETRY,
    ClockWatch,
    first_crawl_at,
    first_poll_at,
    retry_after_fault,
    shifted,
)
from aggregator.daemon.work import WorkResult
from aggregator.ingest import Ingestor
from aggregator.poll.http import BACKOFF_CAP
from aggregator.poll.state import Timing
from aggregator.storage import open_database
from aggregator.storage.health import source_health
from aggregator.storage.models import FetchState, Run
from tests.faultkit import (
    posts,
)
from tests.feedserver import feed_response, rss_feed
from tests.pollkit import Clock
from tests.sites.server import HTML, Response

# --- 4. a source down for a week ----------------------------------------------------------------


def test_a_source_down_for_a_week_backs_off_to_the_cap_then_recovers(
    server, site_env, run_cli
) -> None:
    clock = Clock()
    down_since = clock.now
    server.route("/feed/", Response(500, b"<html>Internal Server Error</html>", HTML))
    interval = site_env.config.poll_interval("site")
    waits = []
    while clock.now < down_since + timedelta(days=7):
        result = site_env.one("site", clock=clock, due_only=True)  # the daemon's way
        assert (result.status, result.error) == ("failed", "HTTP 500")
        assert result.next_check_at is not None
        waits.append(result.next_check_at - clock.now)
        clock.now = result.next_check_at
    assert waits[:3] == [interval, 2 * interval, 4 * interval]  # doubling...
    assert max(waits) == BACKOFF_CAP and waits[-1] == BACKOFF_CAP  # ...up to the cap, no further
    assert waits == sorted(waits)
    state = site_env.state("site")
    assert state.consecutive_failures == len(waits) == len(site_env.runs("site"))
    with site_env.database.session() as session:
        (health,) = source_health(session, ["site"])
    assert health.failing_since == down_since
    assert (health.last_error, health.consecutive_failures) == ("HTTP 500", len(waits))
    report = json.loads(run_cli("-c", str(site_env.config.origin), "status", "--json").out)
    (shown,) = report["sources"]
    assert shown["failing_since"] == down_since.isoformat()
    assert shown["last_error"] == "HTTP 500" and shown["consecutive_failures"] == len(waits)
    assert "since" in run_cli("-c", str(site_env.config.origin), "status").out

    early = site_env.one("site", clock=clock.advanced(-timedelta(hours=1)), due_only=True)
    assert early.status == "skipped"  # not before its (capped) next check
    server.route("/feed/", feed_response(rss_feed(posts("back", 2), base=server.base_url)))
    back = site_env.one("site", clock=clock, due_only=True)
    assert (back.status, back.new) == ("ok", 2)
    assert back.next_check_at == clock.now + interval
    with site_env.database.session() as session:
        (health,) = source_health(session, ["site"])
    assert (health.consecutive_failures, health.failing_since) == (0, None)
    assert health.last_success_at == clock.now
    assert "since" not in run_cli("-c", str(site_env.config.origin), "status").out


# --- 5. the clock jumps forward or back ---------------------------------------------------------


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


HOUR, DAY, YEAR = timedelta(hours=1), timedelta(days=1), timedelta(days=365)
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


JITTER = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (None, NOW + JITTER),  # never polled: now (plus the spread)
        (NOW - YEAR, NOW + JITTER),  # the clock jumped forward (or the daemon was down): now
        (NOW + 20 * HOUR, NOW + 20 * HOUR),  # a backoff or Retry-After: kept
        (NOW + YEAR, NOW + JITTER),  # stored before the clock went back a year: not waited for
    ],
)
def test_the_first_poll_after_a_start_is_never_far_off(due, expected) -> None:
    timing = Timing(NOW, HOUR, JITTER)
    assert first_poll_at(due, NOW, timing, spread=JITTER, failing=True) == expected


@pytest.mark.parametrize(
    ("due", "ttl", "expected"),
    [
        (NOW + 50 * MINUTE, None, NOW + 20 * SECOND),  # set under 1h, now every 20 s: soon
        (NOW + 10 * SECOND, None, NOW + 10 * SECOND),  # within the new interval: kept
        (NOW + 50 * MINUTE, HOUR, NOW + 50 * MINUTE),  # the feed's own TTL asks for the wait
    ],
)
def test_a_shortened_poll_interval_takes_effect_at_the_next_start(due, ttl, expected) -> None:
    timing = Timing(NOW, 20 * SECOND, JITTER)
    first = first_poll_at(due, NOW, timing, spread=JITTER, feed_ttl=ttl)
    assert first == expected


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, NOW + JITTER),
        (NOW - 2 * DAY, NOW + JITTER),  # overdue: now, no catching up on missed crawls
        (NOW - 6 * HOUR, NOW + 18 * HOUR),  # one interval after the last
        (NOW + YEAR, NOW + DAY),  # a last crawl "in the future": at most one interval away
    ],
)
def test_the_first_crawl_after_a_start_is_at_most_one_interval_away(last, expected) -> None:
    assert first_crawl_at(last, NOW, DAY, spread=JITTER) == expected


def test_a_job_the_database_failed_is_retried_soon_then_less_and_less_often() -> None:
    waits = [retry_after_fault(failures, HOUR) for failures in range(1, 10)]
    assert waits[:3] == [FAULT_RETRY, 2 * FAULT_RETRY, 4 * FAULT_RETRY]
    assert waits[-1] == HOUR  # never later than the job's own interval
    assert retry_after_fault(1, timedelta(seconds=5)) == timedelta(seconds=5)
    assert retry_after_fault(10**6, DAY) == DAY  # no overflow after a very long outage


def test_jobs_move_with_a_clock_jump() -> None:
    spread = timedelta(seconds=7)
    # Back two hours: a job due in 30 minutes (of real time) is now 2.5 h ahead; it moves back.
    assert shifted(NOW + 2.5 * HOUR, NOW, -2 * HOUR, spread) == NOW + 0.5 * HOUR
    # Back a year: nothing waits a year.
    assert shifted(NOW + YEAR + HOUR, NOW, -YEAR, spread) == NOW + HOUR
    # Forward: a job still ahead keeps its time; an overdue one runs soon, spread, once.
    assert shifted(NOW + HOUR, NOW, 3 * HOUR, spread) == NOW + HOUR
    assert shifted(NOW - 2 * HOUR, NOW, 3 * HOUR, spread) == NOW + spread


def test_a_clock_jump_is_noticed_against_the_monotonic_clock() -> None:
    watch = ClockWatch(NOW, 100.0)
    assert watch.jump(NOW + timedelta(seconds=10), 110.0) is None  # both moved 10 s
    assert watch.jump(NOW + timedelta(seconds=12), 120.0) is None  # 8 s of drift is noise
    assert watch.jump(NOW - HOUR, 130.0) == -HOUR - timedelta(seconds=22)  # back an hour
    assert watch.jump(NOW + 5 * HOUR, 140.0) == 6 * HOUR - timedelta(seconds=10)  # forward


def test_a_next_check_stored_before_the_clock_went_back_does_not_stall_polling(
    server, site_env
) -> None:
    server.route("/feed/", feed_response(rss_feed(posts("ahead", 2), base=server.base_url)))
    clock = Clock(NOW + YEAR)
    assert site_env.one("site", clock=clock).status == "ok"  # stores a next check in a year
    clock.now = NOW  # the clock is put right: back a year
    result = site_env.one("site", clock=clock, due_only=True)
    assert result.status in ("ok", "not_modified"), result.error
    assert result.next_check_at == NOW + site_env.config.poll_interval("site")


def test_a_backoff_within_bounds_is_still_honoured(server, site_env) -> None:
    server.route("/feed/", Response(503, b"busy", headers={"Retry-After": str(20 * 3600)}))
    clock = Clock()
    assert site_env.one("site", clock=clock).status == "failed"
    clock.now += HOUR
    skipped = site_env.one("site", clock=clock, due_only=True)
    assert skipped.status == "skipped" and "not due until" in (skipped.error or "")
    assert site_env.one("site", clock=clock).status == "skipped"  # backing off, not forced


def test_the_daemons_first_runs_clamp_stored_times_from_a_wrong_clock(
    write_config, sqlite_url, server
) -> None:
    path = write_config(
        {
            "database": {"url": sqlite_url},
            "schedule": {"poll_interval": "1h", "crawl_interval": "1d", "jitter": "5m"},
            "sources": {
                name: {
                    "homepage": server.url("/"),
                    "feed": server.url(f"/{name}/"),
                    "crawl": {"article_urls": ["/posts/"]},
                }
                for name in ("ahead", "behind", "backoff")
            },
        }
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    ids = Ingestor(database, config).source_ids
    stored = {"ahead": NOW + YEAR, "behind": NOW - YEAR, "backoff": NOW + 20 * HOUR}
    with database.write_session() as session:
        for name, due in stored.items():
            failures = 3 if name == "backoff" else 0  # what a backoff follows
            session.add(
                FetchState(
                    source_id=ids[name],
                    url=server.url(f"/{name}/"),
                    next_check_at=due,
                    consecutive_failures=failures,
                )
            )
            session.add(Run(source_id=ids[name], kind="crawl", status="ok", started_at=due))
    daemon = Daemon(database, config, clock=lambda: NOW)
    daemon.schedule_all()
    first = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()}
    database.close()
    assert NOW <= first["poll:ahead"] <= NOW + JITTER
    assert NOW <= first["poll:behind"] <= NOW + JITTER
    assert first["poll:backoff"] == NOW + 20 * HOUR
    assert NOW + DAY <= first["crawl:ahead"] <= NOW + DAY + JITTER  # at most one interval
    assert NOW <= first["crawl:behind"] <= NOW + JITTER
    assert first["crawl:backoff"] == NOW + DAY  # the last crawl was 20 h "ahead"


def test_a_running_daemon_moves_its_jobs_when_the_clock_jumps_back(
    write_config, sqlite_url, server
) -> None:
    path = write_config(
        {
            "database": {"url": sqlite_url},
            "schedule": {"poll_interval": "1h", "jitter": "1s"},
            "sources": {"site": {"homepage": server.url("/"), "feed": server.url("/feed/")}},
        }
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    clock = Clock(NOW)
    daemon = Daemon(database, config, clock=clock)
    daemon.schedule_all()
    daemon.scheduler.modify_job("poll:site", next_run_time=NOW + timedelta(minutes=30))
    clock.now = NOW - 2 * HOUR  # the wall clock goes back two hours
    daemon.after_clock_jump(-2 * HOUR)
    moved = daemon.scheduler.get_job("poll:site").next_run_time
    database.close()
    assert moved == NOW - 2 * HOUR + timedelta(minutes=30)  # still 30 min away


@pytest.mark.slow
def test_a_rebuild_requested_during_a_rebuild_runs_after_it(write_config, tmp_path) -> None:
    """Articles stored while the feeds are being rebuilt must reach the next rebuild."""
    config = load_config(
        write_config({"output": {"dir": str(tmp_path / "public")}, "sources": {}}), environ={}
    )
    database = open_database(config.database.url)
    started: list[float] = []

    class SlowRebuilds(Daemon):
        def rebuild(self) -> WorkResult:
            started.append(time.monotonic())
            time.sleep(3)  # still running when the second request comes due
            return super().rebuild()

    daemon = SlowRebuilds(database, config)
    daemon.scheduler.start()
    try:
        daemon.request_rebuild()  # due in 2 s, runs until 5 s
        time.sleep(2.5)
        daemon.request_rebuild()  # due at 4.5 s, while the first one runs
        deadline = time.monotonic() + 15
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.scheduler.shutdown(wait=True)
        database.close()
    assert len(started) == 2
