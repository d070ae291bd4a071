"""The real daemon, as a subprocess, against the local test sites with short intervals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import pytest

MUTUALAID = str(Path(sys.executable).parent / "mutualaid")
pytestmark = pytest.mark.slow


def mutualaid(*args: str) -> subprocess.CompletedProcess[str]:
    """The console script, to completion (a generous bound: a busy machine, a whole cycle)."""
    return subprocess.run(
        [MUTUALAID, *args], capture_output=True, text=True, timeout=180, check=False
    )


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def holds_daemon_lock(database: Path, process: subprocess.Popen[str]) -> bool:
    lock = database.with_name(database.name + ".locks") / "daemon.lock"
    return lock.exists() and lock.read_text().strip() == f"pid {process.pid}"


def feed_size(feed_url: str) -> int:
    with urllib.request.urlopen(feed_url, timeout=10) as response:
        return len(feedparser.parse(response.read()).entries)


def count_articles(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=30) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM articles").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


@pytest.fixture
def daemon_config(write_config, tmp_path, blog_site) -> Path:
    return write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'state' / 'daemon.db'}"},
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {
                "tick": "1s",
                "poll_interval": "3s",
                "crawl_interval": "1h",
                "jitter": "1s",
            },
            "sources": {
                "blog": {
                    "homepage": f"{blog_site.base_url}/",
                    "feed": blog_site.feed_url,
                    "relevance": "keep_all",
                }
            },
        }
    )


@pytest.fixture
def start_daemon(daemon_config) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [MUTUALAID, "-c", str(daemon_config), "-v", "run", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_daemon_polls_publishes_and_stops_cleanly_on_sigterm(
    start_daemon, tmp_path, blog_site
) -> None:
    database = tmp_path / "state" / "daemon.db"
    daemon = start_daemon()
    expected = feed_size(blog_site.feed_url)
    wait_for(lambda: count_articles(database) == expected, 60, "the essays in the blog's feed")
    feed = tmp_path / "public" / "feed.atom"
    word = blog_site.articles[0].title.split()[0]
    # A build may have run before the poll stored the essays: the next one publishes them.
    wait_for(
        lambda: feed.exists() and word in feed.read_text(encoding="utf-8"),
        60,
        "the combined feed with the essays",
    )
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0, daemon.stderr.read() if daemon.stderr else ""


def test_a_second_daemon_on_the_same_database_refuses_to_start(start_daemon, tmp_path) -> None:
    first = start_daemon()
    database = tmp_path / "state" / "daemon.db"
    wait_for(lambda: holds_daemon_lock(database, first), 60, "the first daemon to hold its lock")
    second = start_daemon()
    assert second.wait(timeout=60) == 1
    assert "daemon is busy" in (second.stderr.read() if second.stderr else "")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0


def test_kill_9_then_restart_loses_and_duplicates_nothing(
    start_daemon, tmp_path, blog_site
) -> None:
    database = tmp_path / "state" / "daemon.db"
    first = start_daemon()
    wait_for(lambda: count_articles(database) > 0, 60, "the first stored essay")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    stored_before = count_articles(database)
    second = start_daemon()
    expected = feed_size(blog_site.feed_url)
    wait_for(lambda: count_articles(database) == expected, 60, "every essay in the feed")
    wait_for(lambda: holds_daemon_lock(database, second), 30, "the second daemon to be up")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = [row[0] for row in connection.execute("SELECT canonical_url FROM articles")]
    assert len(urls) == len(set(urls)) == expected >= stored_before
    leftovers = [p.name for p in (tmp_path / "public").rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_a_manual_poll_beside_the_daemon_succeeds(start_daemon, daemon_config, tmp_path) -> None:
    daemon = start_daemon()
    database = tmp_path / "state" / "daemon.db"
    wait_for(lambda: count_articles(database) > 0, 60, "a first poll")
    wait_for(lambda: holds_daemon_lock(database, daemon), 60, "the daemon to be up")
    manual = mutualaid("-c", str(daemon_config), "poll", "--json")
    assert manual.returncode == 0, manual.stderr
    assert "database is locked" not in manual.stderr
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0


def test_run_once_does_one_cycle_and_exits(daemon_config, tmp_path, blog_site) -> None:
    completed = mutualaid("-c", str(daemon_config), "run", "--once", "--json")
    assert completed.returncode == 0, completed.stderr
    stored = count_articles(tmp_path / "state" / "daemon.db")
    assert stored == feed_size(blog_site.feed_url)
    assert (tmp_path / "public" / "feed.atom").exists()
    report = json.loads(completed.stdout)
    assert (report["jobs_failed"], report["articles_new"]) == (0, stored)


def test_run_once_exits_1_with_a_summary_when_a_job_failed(write_config, tmp_path, blog_site):
    """A cron job must notice: one source unreachable fails the cycle, the others still run."""
    config = write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'once.db'}"},
            "output": {"dir": str(tmp_path / "public")},
            "sources": {
                "blog": {
                    "homepage": f"{blog_site.base_url}/",
                    "feed": blog_site.feed_url,
                    "relevance": "keep_all",
                },
                "gone": {"homepage": "http://127.0.0.1:1/", "feed": "http://127.0.0.1:1/feed/"},
            },
        }
    )
    completed = mutualaid("-c", str(config), "run", "--once")
    assert completed.returncode == 1, completed.stderr
    new = feed_size(blog_site.feed_url)
    assert completed.stdout.rstrip().splitlines()[-1] == (
        f"jobs: 3 ok, 1 failed; articles: {new} new, 0 updated"
    )


@pytest.mark.parametrize("verbose", [(), ("-v",)], ids=["default", "-v"])
def test_the_daemon_logs_one_line_per_job_and_keeps_engines_quiet(daemon_config, tmp_path, verbose):
    log = tmp_path / "daemon.log"
    with log.open("w") as stderr:
        daemon = subprocess.Popen(
            [MUTUALAID, "-c", str(daemon_config), *verbose, "run"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        try:
            wait_for(lambda: "jobs: poll blog: " in log.read_text(), 90, "a poll's job line")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(timeout=30)
    lines = log.read_text().splitlines()
    [first_poll, *_] = [line for line in lines if "jobs: poll blog: " in line]
    assert first_poll.startswith("INFO aggregator.daemon.jobs: poll blog: ")
    assert "outcome=ok" in first_poll and "duration=" in first_poll
    assert not [line for line in lines if line.startswith(("INFO alembic", "INFO apscheduler"))]
    # Without -v, the job lines and the daemon's start and stop are all there is.
    if not verbose:
        assert all("aggregator.daemon.jobs" in line for line in lines if line.startswith("INFO"))


def count_polls(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        query = "SELECT count(*) FROM runs WHERE kind = 'poll'"
        return int(connection.execute(query).fetchone()[0])


def test_a_shortened_poll_interval_takes_effect_at_the_next_start(
    write_config, tmp_path, blog_site
) -> None:
    database = tmp_path / "interval.db"

    def config(interval: str) -> Path:
        return write_config(
            {
                "database": {"url": f"sqlite:///{database}"},
                "output": {"dir": str(tmp_path / "public")},
                "schedule": {
                    "tick": "1s",
                    "poll_interval": interval,
                    "crawl_interval": "1d",
                    "jitter": "1s",
                },
                "sources": {
                    "blog": {
                        "homepage": f"{blog_site.base_url}/",
                        "feed": blog_site.feed_url,
                        "relevance": "keep_all",
                    }
                },
            }
        )

    once = mutualaid("-c", str(config("1h")), "run", "--once")
    assert once.returncode == 0, once.stderr
    assert count_polls(database) == 1  # and the next check is an hour away
    daemon = subprocess.Popen(
        [MUTUALAID, "-c", str(config("5s")), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: count_polls(database) >= 2, 90, "a poll on the new, shorter interval")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(timeout=30)
