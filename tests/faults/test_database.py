"""Faults of the database: read-then-write under SQLite's lock, a database locked past its
busy timeout, a full database or disk."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from aggregator.config import load_config
from aggregator.daemon import Daemon
from aggregator.errors import StorageError
from aggregator.ingest import Ingestor
from aggregator.storage import Database, open_database
from aggregator.storage.database import describe_error, is_database_fault
from aggregator.storage.engine import make_engine
from aggregator.storage.models import Article
from tests.badserver import Connection, respond
from tests.faultkit import (
    DAEMON_REBUILD,
    assert_well_formed,
    built_then_retitled,
    database_full,
    integrity,
    posts,
    query,
    run_with_file_limit,
    snapshot,
    sqlite_write_lock,
)
from tests.feedserver import feed_response, rss_feed
from tests.pollkit import Clock
from tests.test_daemon import MUTUALAID, count_articles, feed_size, wait_for

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}

# --- 1. write transactions take SQLite's write lock up front -----------------------------------


def _read_then_write(database: Database, *, writes: bool, pause: threading.Event | None = None):
    """Read the highest number, (wait,) then insert the next: a read-then-write transaction."""
    sessions = database.write_session if writes else database.session
    with sessions() as session:
        top = session.scalar(text("SELECT max(n) FROM counter"))
        if pause is not None:
            pause.wait(10)
        session.execute(text("INSERT INTO counter VALUES (:n)"), {"n": top + 1})


def test_a_plain_session_that_reads_then_writes_is_refused_after_another_commit(
    counter_db,
) -> None:
    """The hazard write sessions exist for: SQLite refuses the upgrade at once, no waiting."""
    first, second = open_database(counter_db), open_database(counter_db)
    read = threading.Event()
    go_on = threading.Event()
    errors: list[BaseException] = []

    def reader_then_writer() -> None:
        try:
            with first.session() as session:
                top = session.scalar(text("SELECT max(n) FROM counter"))
                read.set()
                go_on.wait(10)
                session.execute(text("INSERT INTO counter VALUES (:n)"), {"n": top + 1})
        except OperationalError as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader_then_writer)
    thread.start()
    assert read.wait(10)
    _read_then_write(second, writes=True)  # commits between the other's read and its write
    go_on.set()
    thread.join(30)
    first.close(), second.close()
    assert len(errors) == 1 and "database is locked" in str(errors[0])


def test_a_write_session_waits_for_the_lock_instead_of_failing(counter_db) -> None:
    first, second = open_database(counter_db), open_database(counter_db)
    go_on = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            _read_then_write(first, writes=True, pause=go_on)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    time.sleep(0.3)  # the slow writer holds the lock from its BEGIN, before it even wrote
    other = threading.Thread(target=lambda: _read_then_write(second, writes=True))
    other.start()
    time.sleep(0.3)
    assert other.is_alive(), "the second writer should be waiting for the lock"
    go_on.set()
    thread.join(30), other.join(30)
    with second.session() as session:
        numbers = list(session.scalars(text("SELECT n FROM counter ORDER BY n")))
    first.close(), second.close()
    assert errors == []
    assert numbers == [0, 1, 2]


COUNTING_PROCESS = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import text
    from aggregator.storage import open_database
    database = open_database(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        with database.write_session() as session:
            top = session.scalar(text("SELECT max(n) FROM counter"))
            time.sleep(0.002)  # some work between the read and the write
            session.execute(text("INSERT INTO counter VALUES (:n)"), {"n": top + 1})
    database.close()
    """
)


def test_processes_reading_then_writing_never_see_database_is_locked(counter_db) -> None:
    rounds, processes = 100, 3
    children = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTING_PROCESS, counter_db, str(rounds)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    failures = []
    for child in children:
        _, stderr = child.communicate(timeout=240)
        if child.returncode != 0:
            failures.append(stderr.strip().splitlines()[-1:])
    assert failures == []
    database = open_database(counter_db)
    with database.session() as session:
        count, top = session.execute(text("SELECT count(*), max(n) FROM counter")).one()
    database.close()
    assert count == top + 1 == processes * rounds + 1  # every increment kept, none lost or doubled


def test_the_busy_timeout_comes_from_the_url(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'a.db'}?timeout=1.5")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    database.close()


def test_a_fault_of_the_database_is_told_from_a_bad_statement(tmp_path: Path) -> None:
    """Faults (locked, full, gone) fail the whole unit of work; a bad statement only its item."""
    database = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(OperationalError) as bad, database.session() as session:
        session.execute(text("SELECT no_such_function()"))
    database.close()
    assert not is_database_fault(bad.value)
    pytest.importorskip("psycopg")
    nobody = make_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens there
    with pytest.raises(OperationalError) as refused:
        nobody.connect()
    assert is_database_fault(refused.value)
    assert describe_error(refused.value).startswith("connection failed:")


def test_a_fault_is_both_the_driver_error_code_handles_and_one_line_for_people(
    counter_db,
) -> None:
    database = open_database(f"{counter_db}?timeout=0.2")
    path = Path(database.engine.url.database or "")
    with (
        sqlite_write_lock(path),
        pytest.raises(StorageError) as locked,
        database.write_session() as session,
    ):
        session.execute(text("INSERT INTO counter VALUES (1)"))
    database.close()
    fault = locked.value
    assert isinstance(fault, OperationalError) and is_database_fault(fault)  # retried as before
    assert describe_error(fault) == "database is locked"  # what runs rows and job lines say
    assert str(fault).startswith(
        "the database is locked by another process (busy for more than 0.2 s): "
    )
    assert "[SQL:" not in str(fault)
    assert str(pickle.loads(pickle.dumps(fault))) == str(fault)  # as sent between processes


# --- 2. a database locked longer than the busy timeout ------------------------------------------


def _poll_runs(database: Path, after: str = "") -> list[tuple[object, ...]]:
    return query(
        database,
        "SELECT status, error FROM runs WHERE kind = 'poll' AND started_at > ? ORDER BY id",
        after,
    )


@pytest.mark.slow
def test_a_database_locked_for_long_fails_the_job_and_the_daemon_carries_on(
    daemons, blog_daemon_config, tmp_path, blog_site, run_cli
) -> None:
    database = tmp_path / "state" / "daemon.db"
    daemon = daemons(blog_daemon_config)
    expected = feed_size(blog_site.feed_url)
    wait_for(lambda: count_articles(database) == expected, 60, "the essays in the blog's feed")
    with sqlite_write_lock(database):  # "a minute": many times the 1 s busy timeout
        daemon.wait_log("poll blog: database is locked", 30)
        time.sleep(4)  # another scheduled poll or two fail the same way
        assert daemon.alive()
    released_at = _utc_text()
    wait_for(
        lambda: ("ok", None) in _poll_runs(database, released_at), 30, "a good poll after the lock"
    )
    assert daemon.alive()
    assert daemon.stop() == 0
    # Every failure is the lock's (a poll that began just before it may fail on it too).
    failed = [run for run in _poll_runs(database) if run[0] == "failed"]
    assert ("failed", "database is locked") in failed  # recorded once the database answered
    assert count_articles(database) == expected  # nothing committed was lost
    assert integrity(database) == "ok"
    lines = daemon.log.splitlines()
    assert "Traceback" not in daemon.log
    assert sum("poll blog: database is locked" in line for line in lines) >= 1
    status = run_cli("-c", str(blog_daemon_config), "status", "--json")
    (blog,) = json.loads(status.out)["sources"]
    assert blog["last_failure"]["error"] == "database is locked"
    assert blog["failing_since"] is None  # it recovered


def _utc_text() -> str:
    """Now as SQLite stores our timestamps (naive UTC text), for comparisons in SQL."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def test_each_job_fails_cleanly_while_the_database_is_locked_and_is_recorded_later(
    write_config, tmp_path, blog_site, caplog
) -> None:
    path = tmp_path / "locked.db"
    blog = {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
            "relevance": "keep_all", "crawl": {"article_urls": ["/20"]}}  # fmt: skip
    config = load_config(
        write_config({"database": {"url": f"sqlite:///{path}?timeout=0.5"},
                      "output": {"dir": str(tmp_path / "public")}, "sources": {"blog": blog}}),
        environ={},
    )  # fmt: skip
    database = open_database(config.database.url)
    Ingestor(database, config)  # the source is registered
    daemon = Daemon(database, config)
    with sqlite_write_lock(path):
        report = daemon.run_once()
    outcome = {(r.kind, r.source): (r.status, r.error) for r in report.results}
    assert outcome[("poll", "blog")] == ("failed", "database is locked")
    assert outcome[("crawl", "blog")] == ("failed", "database is locked")
    assert outcome[("purge", "")] == ("failed", "database is locked")  # retention.runs_days
    assert outcome[("rebuild", "")] == ("ok", None)  # readers are never blocked
    assert "Traceback" not in caplog.text
    assert "poll blog: database is locked" in caplog.text
    assert daemon.run_log.pending == 4  # kept until the database takes them
    assert daemon.run_log.flush() and daemon.run_log.pending == 0
    database.close()
    recorded = query(path, "SELECT kind, status, error FROM runs ORDER BY id")
    assert recorded == [
        ("poll", "failed", "database is locked"),
        ("crawl", "failed", "database is locked"),
        ("purge", "failed", "database is locked"),
        ("rebuild", "ok", None),
    ]


@pytest.mark.slow
def test_a_poll_the_locked_database_failed_is_recorded_and_retried_soon(
    write_config, tmp_path, bad_server, daemons
) -> None:
    """Polled hourly, one source: no other job ends to write the failure down, and waiting the
    hour to poll it again would be the wrong answer to a database busy for a moment."""
    database = tmp_path / "state" / "retry.db"
    answer = threading.Event()
    feed = respond(200, rss_feed(posts("retry", 2), base=bad_server.base_url), RSS)

    def first_held_back(conn: Connection) -> None:
        if len(bad_server.hits_to("/feed")) == 1:
            answer.wait(60)  # until the test holds the database's lock
        feed(conn)

    bad_server.route("/feed", first_held_back)
    config = write_config(
        {
            "database": {"url": f"sqlite:///{database}?timeout=1"},
            "output": {"dir": str(tmp_path / "public")},
            "extraction": {"learn_boilerplate": False},
            "schedule": {"tick": "1s",
                         "poll_interval": "1h", "crawl_interval": "1d", "jitter": "1s"},
            "sources": {"site": {"homepage": bad_server.url("/"), "feed": bad_server.url("/feed"),
                                 "relevance": "keep_all"}},
        }
    )  # fmt: skip
    daemon = daemons(config)
    try:
        wait_for(lambda: len(bad_server.hits_to("/feed")) == 1, 60, "the first poll's request")
        with sqlite_write_lock(database):
            answer.set()  # the poll reads the feed, then cannot store it
            daemon.wait_log("poll site: database is locked", 60)
            failed_at = time.monotonic()
            assert _poll_runs(database) == []  # kept until the database takes it
        wait_for(lambda: _poll_runs(database) == [("failed", "database is locked")], 30,
                 "the failure recorded once the lock is gone")  # fmt: skip
        assert len(bad_server.hits_to("/feed")) == 1  # no other poll ended to record it
        wait_for(lambda: ("ok", None) in _poll_runs(database), 120, "the poll tried again")
        assert time.monotonic() - failed_at < 150  # seconds later, not the hour of its interval
        assert len(bad_server.hits_to("/feed")) == 2
    finally:
        answer.set()
    assert count_articles(database) == 2
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log


# --- 3. a full disk ------------------------------------------------------------------------------


def test_a_full_database_fails_the_poll_keeps_what_was_committed_and_recovers(
    server, site_env, caplog
) -> None:
    clock = Clock()
    first, later = posts("early", 3), posts("later", 40)
    server.route("/feed/", feed_response(rss_feed(first, base=server.base_url)))
    assert site_env.one("site", clock=clock).new == 3
    server.route("/feed/", feed_response(rss_feed(first + later, base=server.base_url)))
    clock.now += timedelta(hours=2)
    with database_full(site_env.database):
        result = site_env.one("site", clock=clock)
    assert result.status == "failed"
    assert result.error == "storing failed: database or disk is full"
    assert "storing items of site failed: database or disk is full" in caplog.text
    assert "Traceback" not in caplog.text
    assert site_env.count(Article) == 3  # the batch rolled back; what was committed stays
    assert integrity(Path(site_env.database.engine.url.database or "")) == "ok"
    clock.now += timedelta(days=1)  # past the backoff
    again = site_env.one("site", clock=clock)
    assert (again.status, again.failed, again.new) == ("ok", 0, 40)
    assert site_env.count(Article) == 43
    assert site_env.state("site").consecutive_failures == 0


def test_a_full_disk_fails_the_feed_build_and_leaves_the_old_files_whole(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    public, config, before = built_then_retitled(write_config, tmp_path, blog_site, run_cli)
    limit = 40_000  # room for SQLite's 32 KiB shared-memory file, not for the combined feeds
    assert len(before["feed.atom"]) > limit
    failed = run_with_file_limit([MUTUALAID, "-c", str(config), "feed", "build"], limit)
    assert failed.returncode == 1
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith("error: cannot write ") and "File too large" in line
    after = snapshot(public)
    assert after.keys() == before.keys()  # no temporary file left behind, none removed
    for name, data in after.items():
        assert data == before[name] or b"New title" in data, name  # old or new, never part
        assert_well_formed(name, data)
    assert after["feed.atom"] == before["feed.atom"]
    assert run_cli("-c", str(config), "feed", "build").code == 0  # room again
    assert b"New title" in (public / "feed.atom").read_bytes()


def test_a_full_disk_fails_the_daemons_rebuild_and_status_says_so(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    public = tmp_path / "public"
    settings = {
        "output": {"dir": str(public), "title": "Old title"},
        "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
                             "relevance": "keep_all"}},
    }  # fmt: skip
    config = write_config(settings)
    assert run_cli("-c", str(config), "poll").code == 0
    rebuild = [sys.executable, "-c", DAEMON_REBUILD, str(config)]
    first = subprocess.run(rebuild, capture_output=True, text=True)
    assert first.stdout == "ok \n", first.stderr
    old_feed = (public / "feed.atom").read_bytes()
    settings["output"]["title"] = "New title"  # type: ignore[index]
    write_config(settings)
    failed = run_with_file_limit(rebuild, 40_000)
    assert failed.returncode == 0, failed.stderr  # the job failed; the process did not
    assert failed.stdout.startswith("failed cannot write ") and "File too large" in failed.stdout
    (line,) = failed.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("WARNING rebuild: cannot write ")
    assert (public / "feed.atom").read_bytes() == old_feed
    status = run_cli("-c", str(config), "status")
    assert "last feed rebuild failed" in status.out and "File too large" in status.out
    report = json.loads(run_cli("-c", str(config), "status", "--json").out)
    assert report["daemon"]["last_rebuild"]["status"] == "failed"
    assert subprocess.run(rebuild, capture_output=True, text=True, check=True).stdout == "ok \n"
    assert b"New title" in (public / "feed.atom").read_bytes()
    assert "last feed rebuild failed" not in run_cli("-c", str(config), "status").out
