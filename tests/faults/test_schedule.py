"""Faults of time: a source down for a week, a clock that jumps forward or back."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.config import load_config
from aggregator.daemon import Daemon, WorkResult
from aggregator.daemon import service as daemon_service
from aggregator.daemon.due import (
    FAULT_RETRY,
    crawl_due_at,
    poll_due_at,
    retry_after_fault,
)
from aggregator.ingest import Ingestor
from aggregator.poll.http import BACKOFF_CAP
from aggregator.poll.state import Timing
from aggregator.runs import Outcome, RunKind
from aggregator.storage import open_database
from aggregator.storage.health import source_health
from aggregator.storage.models import FetchState, Run
from aggregator.storage.schedule import StoredCheck
from tests.faultkit import (
    posts,
)
from tests.feedserver import feed_response, rss_feed
from tests.pollkit import Clock
from tests.sites.server import HTML, Response
from tests.test_daemon import wait_for

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
# The daemon reads stored times with the poller's clamp (here) and keeps its own waits on the
# monotonic clock (tests/test_daemon.py drives a whole daemon through jumps).


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


HOUR, DAY, YEAR = timedelta(hours=1), timedelta(days=1), timedelta(days=365)
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


JITTER = timedelta(minutes=5)


def failing(due: datetime | None) -> StoredCheck:
    return StoredCheck(due, failing=True, ttl=None)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, None),  # never polled: due now
        (failing(NOW - YEAR), NOW - YEAR),  # the clock jumped forward (or the daemon was down)
        (failing(NOW + 20 * HOUR), NOW + 20 * HOUR),  # a backoff or Retry-After: kept
        (failing(NOW + YEAR), NOW),  # stored before the clock went back a year: not waited for
    ],
)
def test_a_stored_next_check_is_never_far_off(check, expected) -> None:
    assert poll_due_at(check, NOW, Timing(NOW, HOUR, JITTER)) == expected


@pytest.mark.parametrize(
    ("due", "ttl", "expected"),
    [
        (NOW + 50 * MINUTE, None, NOW),  # set under 1h, now every 20 s: due now
        (NOW + 10 * SECOND, None, NOW + 10 * SECOND),  # within the new interval: kept
        (NOW + 50 * MINUTE, HOUR, NOW + 50 * MINUTE),  # the feed's own TTL asks for the wait
    ],
)
def test_a_shortened_poll_interval_takes_effect_at_the_next_start(due, ttl, expected) -> None:
    check = StoredCheck(due, failing=False, ttl=ttl)
    assert poll_due_at(check, NOW, Timing(NOW, 20 * SECOND, JITTER)) == expected


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, None),  # never crawled: due now
        (NOW - 2 * DAY, NOW - DAY),  # overdue: now, once (no catching up on missed crawls)
        (NOW - 6 * HOUR, NOW + 18 * HOUR),  # one interval after the last
        (NOW + 20 * HOUR, NOW),  # a last crawl "in the future": the clock went back, due now
        (NOW + YEAR, NOW),
    ],
)
def test_a_crawl_is_due_one_interval_after_the_last_and_never_further(last, expected) -> None:
    assert crawl_due_at(last, NOW, Timing(NOW, DAY, JITTER)) == expected


def test_a_job_the_database_failed_is_retried_soon_then_less_and_less_often() -> None:
    waits = [retry_after_fault(failures, HOUR) for failures in range(1, 10)]
    assert waits[:3] == [FAULT_RETRY, 2 * FAULT_RETRY, 4 * FAULT_RETRY]
    assert waits[-1] == HOUR  # never later than the job's own interval
    assert retry_after_fault(1, timedelta(seconds=5)) == timedelta(seconds=5)
    assert retry_after_fault(10**6, DAY) == DAY  # no overflow after a very long outage


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


def test_the_daemon_reads_stored_times_from_a_wrong_clock_with_the_clamp(
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
                for name in ("ahead", "behind", "backoff", "recent")
            },
        }
    )
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    ids = Ingestor(database, config).source_ids
    stored = {
        "ahead": NOW + YEAR,
        "behind": NOW - YEAR,
        "backoff": NOW + 20 * HOUR,
        "recent": NOW - 6 * HOUR,
    }
    with database.write_session() as session:
        for name, due in stored.items():
            failures = 3 if name == "backoff" else 0  # what a backoff follows
            session.add(
                FetchState(
                    source_id=ids[name],
                    url=server.url(f"/{name}/"),
                    next_check_at=due if name != "recent" else NOW + 30 * MINUTE,
                    consecutive_failures=failures,
                )
            )
            session.add(Run(source_id=ids[name], kind="crawl", status="ok", started_at=due))
    daemon = Daemon(database, config, clock=lambda: NOW)
    due = {item.key for item in daemon.due()}
    database.close()
    assert {"poll:ahead", "poll:behind"} <= due  # a year ahead is not waited for
    assert "poll:backoff" not in due and "poll:recent" not in due  # within bounds: kept
    assert {"crawl:ahead", "crawl:behind", "crawl:backoff"} <= due  # at most one interval
    assert "crawl:recent" not in due  # crawled 6 h ago, once a day


def test_a_rebuild_requested_during_a_rebuild_runs_after_it(
    write_config, tmp_path, monkeypatch
) -> None:
    """Articles stored while the feeds are being rebuilt must reach the next rebuild."""
    config = load_config(
        write_config({"output": {"dir": str(tmp_path / "public")}, "sources": {}}), environ={}
    )
    database = open_database(config.database.url)
    started, release = [], threading.Event()

    def slow_rebuild(_database: object, _config: object) -> WorkResult:
        started.append(len(started))
        if len(started) == 1:
            release.wait(60)  # still running when the second request comes
        return WorkResult(RunKind.REBUILD, "", Outcome.OK, recorded=False)

    monkeypatch.setattr(daemon_service, "rebuild_feeds", slow_rebuild)
    mono = [0.0]
    daemon = Daemon(database, config, monotonic=lambda: mono[0])
    daemon.scheduler.start()
    try:
        daemon.request_rebuild()
        mono[0] += daemon_service.REBUILD_DELAY
        daemon.tick()
        wait_for(lambda: len(started) == 1, 30, "the first rebuild")
        daemon.request_rebuild()  # while the first one runs
        mono[0] += daemon_service.REBUILD_DELAY
        daemon.tick()
        release.set()
        wait_for(lambda: daemon.tick() == [] and len(started) == 2, 30, "the second rebuild")
    finally:
        release.set()
        daemon.scheduler.shutdown(wait=True)
        database.close()
    assert started == [0, 1]
