"""Faults: a locked or full database, a full disk, a source down for a week, a clock that jumps,
PostgreSQL restarting mid-run, kill -9 mid-write. The daemon keeps running, rolls back, loses
nothing committed, recovers by itself and says what happened (logs, ``runs``, ``status``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from lxml import etree
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from aggregator.config import load_config
from aggregator.daemon import Daemon
from aggregator.daemon.schedule import ClockWatch, first_crawl_at, first_poll_at, shifted
from aggregator.daemon.work import poll_source
from aggregator.ingest import Ingestor
from aggregator.locks import LockBusyError, advisory_key, hold_lock
from aggregator.poll.http import BACKOFF_CAP
from aggregator.storage import Database, migrate, open_database
from aggregator.storage.database import describe_error, is_database_fault
from aggregator.storage.engine import make_engine
from aggregator.storage.health import source_health
from aggregator.storage.models import Article, FetchState, Run
from tests.faultkit import (
    DAEMON_REBUILD,
    LoggedDaemon,
    count_steps,
    database_full,
    integrity,
    kill_at_step,
    query,
    run_with_file_limit,
    sqlite_write_lock,
)
from tests.feedserver import ScriptedServer, feed_response, rss_feed
from tests.pollkit import Clock, PollEnv
from tests.sites.server import HTML, Response
from tests.test_daemon import MUTUALAID, count_articles, feed_size, wait_for

# --- 1. write transactions take SQLite's write lock up front -----------------------------------


@pytest.fixture
def counter_db(sqlite_url: str) -> str:
    """A migrated SQLite file with a table of numbers that must count up without gaps."""
    database = open_database(sqlite_url)
    with database.write_session() as session:
        session.execute(text("CREATE TABLE counter (n INTEGER PRIMARY KEY)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))
    database.close()
    return sqlite_url


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


# --- 2. a database locked longer than the busy timeout ------------------------------------------


@pytest.fixture
def blog_daemon_config(write_config, tmp_path, blog_site) -> Path:
    """The blog polled every 3 s, writers giving up after 1 s of waiting for the lock."""
    return write_config(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'state' / 'daemon.db'}?timeout=1"},
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {"poll_interval": "3s", "crawl_interval": "1h", "jitter": "1s"},
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
def daemons(tmp_path) -> Iterator[Callable[..., LoggedDaemon]]:
    started: list[LoggedDaemon] = []

    def start(config: Path, **env: str) -> LoggedDaemon:
        daemon = LoggedDaemon(config, tmp_path / f"daemon-{len(started)}.log", env)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


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
        locked_at = _utc_text()
        daemon.wait_log("poll of blog failed: database is locked", 30)
        time.sleep(4)  # another scheduled poll or two fail the same way
        assert daemon.alive()
    released_at = _utc_text()
    wait_for(
        lambda: ("ok", None) in _poll_runs(database, released_at), 30, "a good poll after the lock"
    )
    assert daemon.alive()
    assert daemon.stop() == 0
    failed = [run for run in _poll_runs(database, locked_at) if run[0] == "failed"]
    assert ("failed", "database is locked") in failed  # recorded once the database answered
    assert count_articles(database) == expected  # nothing committed was lost
    assert integrity(database) == "ok"
    lines = daemon.log.splitlines()
    assert "Traceback" not in daemon.log
    assert sum("poll of blog failed: database is locked" in line for line in lines) >= 1
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
    assert outcome[("rebuild", "")] == ("ok", None)  # readers are never blocked
    assert "Traceback" not in caplog.text
    assert "poll of blog failed: database is locked" in caplog.text
    assert daemon.run_log.pending == 3  # kept until the database takes them
    assert daemon.run_log.flush() and daemon.run_log.pending == 0
    database.close()
    recorded = query(path, "SELECT kind, status, error FROM runs ORDER BY id")
    assert recorded == [
        ("poll", "failed", "database is locked"),
        ("crawl", "failed", "database is locked"),
        ("rebuild", "ok", None),
    ]


# --- 3. a full disk ------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def site_env(write_config, sqlite_url, server) -> Iterator[PollEnv]:
    """One source, "site", at the scripted server; its posts share paragraphs, so no learning."""
    path = write_config(
        {
            "database": {"url": sqlite_url},
            "extraction": {"learn_boilerplate": False},
            "sources": {
                "site": {
                    "homepage": server.url("/"),
                    "feed": server.url("/feed/"),
                    "relevance": "keep_all",
                }
            },
        }
    )
    database = open_database(load_config(path, environ={}).database.url)
    yield PollEnv(load_config(path, environ={}), database)
    database.close()


def posts(prefix: str, count: int) -> list[tuple[str, str]]:
    """Feed items; the number in each title keeps near-duplicate detection from joining them."""
    return [(f"{prefix}{n}", f"{prefix.title()} post number {sum(map(ord, prefix))}{n}")
            for n in range(count)]  # fmt: skip


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


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _built_then_retitled(
    write_config, tmp_path, blog_site, run_cli
) -> tuple[Path, Path, dict[str, bytes]]:
    """The blog polled and its feeds built under "Old title", then the config retitled.

    Returns the output folder, the config file and a snapshot of the files as built, so the
    next build has something new to write.
    """
    public = tmp_path / "public"
    settings = {
        "output": {"dir": str(public), "title": "Old title"},
        "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
                             "relevance": "keep_all"}},
    }  # fmt: skip
    config = write_config(settings)
    assert run_cli("-c", str(config), "poll").code == 0
    assert run_cli("-c", str(config), "feed", "build").code == 0
    built = _snapshot(public)
    settings["output"]["title"] = "New title"  # type: ignore[index]
    write_config(settings)
    return public, config, built


def test_a_full_disk_fails_the_feed_build_and_leaves_the_old_files_whole(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    public, config, before = _built_then_retitled(write_config, tmp_path, blog_site, run_cli)
    limit = 40_000  # room for SQLite's 32 KiB shared-memory file, not for the combined feeds
    assert len(before["feed.atom"]) > limit
    failed = run_with_file_limit([MUTUALAID, "-c", str(config), "feed", "build"], limit)
    assert failed.returncode == 1
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith("error: cannot write ") and "File too large" in line
    after = _snapshot(public)
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
    assert line.startswith("WARNING rebuild of the feeds failed: cannot write ")
    assert (public / "feed.atom").read_bytes() == old_feed
    status = run_cli("-c", str(config), "status")
    assert "last feed rebuild failed" in status.out and "File too large" in status.out
    report = json.loads(run_cli("-c", str(config), "status", "--json").out)
    assert report["daemon"]["last_rebuild"]["status"] == "failed"
    assert subprocess.run(rebuild, capture_output=True, text=True, check=True).stdout == "ok \n"
    assert b"New title" in (public / "feed.atom").read_bytes()
    assert "last feed rebuild failed" not in run_cli("-c", str(config), "status").out


def assert_well_formed(name: str, data: bytes) -> None:
    """Parse a written file strictly: XML feeds with lxml (no recovery), JSON Feed with json."""
    if name.endswith((".atom", ".rss")):
        etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    elif name.endswith(".json"):
        json.loads(data)
    elif name.endswith(".html"):
        assert data.rstrip().endswith(b"</html>"), name


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
    assert first_poll_at(due, NOW, HOUR, JITTER, spread=JITTER) == expected


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
            session.add(
                FetchState(source_id=ids[name], url=server.url(f"/{name}/"), next_check_at=due)
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


# --- 6. PostgreSQL restarting mid-run ------------------------------------------------------------


@pytest.fixture
def pg_app(postgres_url: str) -> tuple[str, str]:
    """A PostgreSQL URL whose connections carry an application name of their own, and the name:
    "restarting the server" terminates those connections only, not other tests' sessions."""
    name = f"mutualaid-fault-{uuid.uuid4().hex[:8]}"
    return f"{postgres_url}&application_name={name}", name


def terminate_backends(admin_url: str, application_name: str) -> set[int]:
    """What a server restart does to our sessions: every one of them is cut off. Their pids."""
    admin = make_engine(admin_url)
    try:
        with admin.begin() as connection:
            ours = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :name"
                ),
                {"name": application_name},
            ).scalars()
            pids = set(ours)
            for pid in pids:  # one by one: never anyone else's session
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            return pids
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("cut_at", ["INSERT INTO articles", "INSERT INTO runs"])
def test_postgres_restarting_mid_poll_fails_the_job_and_the_next_run_recovers(
    pg_app, postgres_url, write_config, server, cut_at
) -> None:
    url, app_name = pg_app
    path = write_config(
        {
            "database": {"url": url},
            "extraction": {"learn_boilerplate": False},
            "sources": {"site": {"homepage": server.url("/"), "feed": server.url("/feed/"),
                                 "relevance": "keep_all"}},
        }
    )  # fmt: skip
    config = load_config(path, environ={})
    env = PollEnv(config, open_database(url))
    server.route("/feed/", feed_response(rss_feed(posts("first", 2), base=server.base_url)))
    assert poll_source(env.database, config, "site", due_only=False).status == "ok"
    server.route("/feed/", feed_response(rss_feed(posts("first", 2) + posts("second", 5),
                                                  base=server.base_url)))  # fmt: skip
    armed = [True]

    @event.listens_for(env.database.engine, "before_cursor_execute")
    def restart_server(_conn, _cursor, statement, *_args) -> None:
        if armed and statement.startswith(cut_at):
            armed.clear()
            assert terminate_backends(postgres_url, app_name)

    result = poll_source(env.database, config, "site", due_only=False)
    assert not armed, "the statement to cut at never ran"
    assert result.status == "failed"
    assert "terminating connection" in (result.error or "") or "closed" in (result.error or "")
    assert env.count(Article) in (2, 7)  # the batch is all or nothing; the first two stay
    later = Clock(datetime.now(UTC) + DAY)  # past any backoff
    again = env.one("site", clock=later)
    assert again.status == "ok", again.error
    with env.database.session() as session:
        urls = list(session.scalars(select(Article.canonical_url)))
    env.database.close()
    assert len(urls) == len(set(urls)) == 7  # nothing lost, nothing twice


@pytest.mark.postgres
def test_a_held_advisory_lock_is_taken_back_after_a_restart_unless_someone_was_quicker(
    pg_app, postgres_url
) -> None:
    url, app_name = pg_app
    mine, other = open_database(url), open_database(postgres_url)
    with hold_lock(mine, "daemon") as lock:
        assert terminate_backends(postgres_url, app_name)
        assert lock.check()  # taken back on a new session
        with pytest.raises(LockBusyError), hold_lock(other, "daemon"):
            pass
        assert terminate_backends(postgres_url, app_name)
        with hold_lock(other, "daemon"), pytest.raises(LockBusyError):  # quicker this time
            lock.check()
    mine.close(), other.close()


def daemon_lock_holders(url: str) -> set[int]:
    """The sessions holding the daemon's advisory lock (pg_locks shows a key as two halves)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = advisory_key("daemon", schema) & 0xFFFFFFFFFFFFFFFF
            pids = connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :high AND objid = :low"
                ),
                {"high": key >> 32, "low": key & 0xFFFFFFFF},
            ).scalars()
            return set(pids)
    finally:
        engine.dispose()


def count_rows(url: str, sql: str, **params: object) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar() or 0)
    except ProgrammingError:
        return 0  # no tables yet
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restarting_under_the_daemon(
    pg_app, postgres_url, write_config, tmp_path, blog_site, daemons
) -> None:
    url, app_name = pg_app
    config = write_config(
        {
            "database": {"url": url},
            "output": {"dir": str(tmp_path / "public")},
            "schedule": {"poll_interval": "2s", "crawl_interval": "1h", "jitter": "1s"},
            "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
                                 "relevance": "keep_all"}},
        }
    )  # fmt: skip
    daemon = daemons(config)
    expected = feed_size(blog_site.feed_url)
    articles = "SELECT count(DISTINCT canonical_url) FROM articles"
    wait_for(lambda: count_rows(postgres_url, articles) == expected, 90, "the blog's essays")
    cut = terminate_backends(postgres_url, app_name)
    assert cut  # the daemon's lock and pooled sessions, at least
    for _ in range(4):  # and again, whatever the daemon is doing when it reconnects
        time.sleep(1.3)
        cut |= terminate_backends(postgres_url, app_name)
    cut_at = datetime.now(UTC)
    daemon.wait_log("lock daemon was lost with its database session; taken again", 30)
    wait_for(lambda: bool(daemon_lock_holders(postgres_url) - cut), 30, "the lock held again")
    good_polls = (
        "SELECT count(*) FROM runs WHERE kind = 'poll' AND status = 'ok' AND started_at > :t"
    )
    wait_for(lambda: count_rows(postgres_url, good_polls, t=cut_at) > 0, 30, "a good poll after")
    second = daemons(config)
    assert second.process.wait(timeout=60) == 1 and "daemon is busy" in second.log
    assert daemon.alive()
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log
    assert count_rows(postgres_url, articles) == expected
    assert count_rows(postgres_url, "SELECT count(*) FROM articles") == expected


# --- 7. kill -9 mid-migration and mid-feed-write -------------------------------------------------

ARTICLE_ROWS = "SELECT id, canonical_url, content_hash, title FROM articles ORDER BY id"


def _downgrade(url: str, revision: str) -> None:
    database = open_database(url, upgrade=False)
    config = migrate.alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    database.close()


def _fresh_copy(template: Path, target: Path) -> None:
    for leftover in target.parent.glob(target.name + "*"):
        if leftover.is_file():
            leftover.unlink()
    shutil.copyfile(template, target)


@pytest.mark.slow
def test_kill_9_during_a_migration_leaves_the_old_schema_or_the_new_and_every_row(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    template, work = tmp_path / "template.db", tmp_path / "work.db"
    blog = {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
            "relevance": "keep_all"}  # fmt: skip
    filled = write_config({"database": {"url": f"sqlite:///{template}"}, "sources": {"blog": blog}},
                          name="template.yaml")  # fmt: skip
    assert run_cli("-c", str(filled), "poll").code == 0
    _downgrade(f"sqlite:///{template}", "0003")  # a database written by an older version
    rows = query(template, ARTICLE_ROWS)
    assert rows
    config = write_config({"database": {"url": f"sqlite:///{work}"}, "sources": {"blog": blog}})
    upgrade = ["-c", str(config), "db", "upgrade"]
    _fresh_copy(template, work)
    steps = count_steps(upgrade)
    head = migrate.head_revision()
    for step in sorted({max(1, steps * n // 8) for n in range(1, 8)} | {steps - 1}):
        _fresh_copy(template, work)
        assert kill_at_step(upgrade, step), f"the upgrade finished before step {step}"
        assert integrity(work) == "ok", step
        (revision,) = query(work, "SELECT version_num FROM alembic_version")[0]
        assert revision in ("0003", head), step  # one transaction: all of it or none
        assert query(work, ARTICLE_ROWS) == rows, step
        assert run_cli(*upgrade).code == 0, step  # and it completes afterwards
        assert query(work, "SELECT version_num FROM alembic_version") == [(head,)]
        assert query(work, ARTICLE_ROWS) == rows, step
        assert integrity(work) == "ok", step


def _restore(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


@pytest.mark.slow
def test_kill_9_during_a_feed_build_leaves_every_file_old_or_new_and_whole(
    write_config, tmp_path, blog_site, run_cli
) -> None:
    public, config, old = _built_then_retitled(write_config, tmp_path, blog_site, run_cli)
    build = ["-c", str(config), "feed", "build"]
    steps = count_steps(build)
    new = _snapshot(public)
    assert new.keys() == old.keys() and new != old
    killed = 0
    for step in sorted({max(1, steps * n // 10) for n in range(1, 10)}):
        _restore(public, old)
        killed += kill_at_step(build, step)
        after = {name: data for name, data in _snapshot(public).items()
                 if not Path(name).name.startswith(".")}  # fmt: skip
        assert after.keys() == old.keys(), step
        for name, data in after.items():
            assert data in (old[name], new[name]), (step, name)  # whole, old or new
            assert_well_formed(name, data)
    assert killed >= 5
    assert run_cli(*build).code == 0  # the next build completes the job, and tidies up
    assert _snapshot(public) == new  # no temporary file of a killed build is left


# --- 8. status says what happened ----------------------------------------------------------------


def test_status_shows_the_last_failed_run_of_each_source_and_of_the_daemon(
    write_config, sqlite_url, run_cli
) -> None:
    config = write_config({"sources": {"blog": {"homepage": "https://blog.example/",
                                                "feed": "https://blog.example/feed"}}})  # fmt: skip
    database = open_database(sqlite_url)
    ids = Ingestor(database, load_config(config, environ={})).source_ids
    now = datetime.now(UTC)
    with database.write_session() as session:
        session.add_all(
            [
                Run(source_id=ids["blog"], kind="poll", status="ok", started_at=now - 3 * HOUR),
                Run(source_id=ids["blog"], kind="crawl", status="failed",
                    started_at=now - 2 * HOUR, error="database or disk is full"),
                Run(source_id=ids["blog"], kind="poll", status="ok", started_at=now - HOUR),
                Run(source_id=None, kind="rebuild", status="ok", started_at=now - 2 * HOUR),
                Run(source_id=None, kind="rebuild", status="failed", started_at=now - HOUR,
                    error="cannot write public/feed.atom: No space left on device"),
            ]
        )  # fmt: skip
    database.close()
    report = json.loads(run_cli("-c", str(config), "status", "--json").out)
    (blog,) = report["sources"]
    assert blog["last_failure"]["kind"] == "crawl"
    assert blog["last_failure"]["error"] == "database or disk is full"
    assert blog["failing_since"] is None  # its polls are fine
    assert report["daemon"]["last_rebuild"]["error"].endswith("No space left on device")
    text_out = run_cli("-c", str(config), "status").out
    assert "crawl:" in text_out  # the newest failure, a crawl's, is the last error shown
    assert "last feed rebuild failed 1h ago: cannot write public/feed.atom: No space" in text_out
