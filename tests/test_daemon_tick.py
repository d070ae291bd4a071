"""The daemon's tick, driven by hand with a wall clock and a monotonic clock the test moves:
real polls of a local server into a real SQLite file, no sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.daemon import Daemon
from aggregator.daemon.due import FAULT_RETRY
from aggregator.runs import Outcome
from aggregator.storage import open_database
from tests.faultkit import posts, sqlite_write_lock
from tests.feedserver import feed_response, rss_feed


class Clocks:
    """The wall clock and the monotonic one; ``jump`` moves only the wall clock."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, by: timedelta) -> None:
        self.wall += by
        self.mono += by.total_seconds()

    def jump(self, by: timedelta) -> None:
        self.wall += by


@pytest.fixture
def ticked(write_config, sqlite_url, server) -> Iterator[tuple[Daemon, Clocks]]:
    """A daemon over three feeds polled hourly, never started: the test runs its ticks."""
    names = ("one", "two", "three")
    for name in names:
        server.route(f"/{name}/", feed_response(rss_feed(posts(name, 1), base=server.base_url)))
    path = write_config(
        {
            "database": {"url": f"{sqlite_url}?timeout=0.2"},  # a lock fails writes quickly
            "extraction": {"learn_boilerplate": False},
            "polling": {"host_delay": 0},
            "schedule": {"poll_interval": "1h", "crawl_interval": "1d", "jitter": "1s"},
            "sources": {
                name: {"homepage": server.url("/"), "feed": server.url(f"/{name}/"),
                       "relevance": "keep_all"}
                for name in names
            },
        }
    )  # fmt: skip
    config = load_config(path, environ={})
    database = open_database(config.database.url)
    clocks = Clocks()
    daemon = Daemon(database, config, clock=clocks.now, monotonic=clocks.monotonic)
    try:
        yield daemon, clocks
    finally:
        daemon.poller.close()
        database.close()


def run_ticks(daemon: Daemon, clocks: Clocks, span: timedelta) -> list[tuple[float, str]]:
    """Tick once a minute over ``span``, running what each tick hands out on this thread;
    the polls, as (monotonic minute, source)."""
    polled: list[tuple[float, str]] = []
    for _ in range(int(span / timedelta(minutes=1))):
        for due in daemon.take_due():
            result = daemon.run_job(due)
            assert result is not None and result.status in ("ok", "not_modified"), result
            polled.append((clocks.mono / 60, due.source))
        clocks.advance(timedelta(minutes=1))
    return polled


def test_a_wall_clock_jump_causes_no_burst_and_no_stall(ticked, server) -> None:
    daemon, clocks = ticked
    polled = run_ticks(daemon, clocks, timedelta(minutes=30))
    assert sorted(source for _, source in polled) == ["one", "three", "two"]  # once each
    clocks.jump(timedelta(days=1))  # forward: every stored next check is a day overdue
    polled += run_ticks(daemon, clocks, timedelta(minutes=60))
    clocks.jump(-timedelta(days=1, hours=2))  # back: every next check lies about 3 h ahead
    polled += run_ticks(daemon, clocks, timedelta(minutes=60))
    for name in ("one", "two", "three"):
        minutes = [minute for minute, source in polled if source == name]
        gaps = [later - earlier for earlier, later in pairwise(minutes)]
        assert len(minutes) == 3, polled  # neither a burst nor a stall: hourly, as configured
        assert all(60 <= gap <= 62 for gap in gaps), polled
    assert len(server.paths()) == 9  # three polls of three feeds, nothing more


def test_a_job_the_database_failed_is_held_back_then_retried_soon(ticked, sqlite_url) -> None:
    daemon, clocks = ticked
    with sqlite_write_lock(Path(sqlite_url.removeprefix("sqlite:///"))):
        failed = [daemon.run_job(due) for due in daemon.take_due()]
    assert {(r.status, r.error) for r in failed if r} == {(Outcome.FAILED, "database is locked")}
    assert daemon.take_due() == []  # not polled again at once: no hot loop on a locked database
    assert daemon.run_log.pending == 3  # its runs rows wait for the database
    clocks.advance(FAULT_RETRY * 1.2)
    retried = run_ticks(daemon, clocks, timedelta(minutes=1))
    assert sorted(source for _, source in retried) == ["one", "three", "two"]  # seconds later
