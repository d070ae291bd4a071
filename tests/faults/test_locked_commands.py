"""Every command against a SQLite file locked past its busy timeout: one line, no traceback.

Two locks, each held by another connection: a writer's (``BEGIN IMMEDIATE``), which stops
other writers but no reader, and an exclusive one, which stops readers too. A command that
meets the lock stops with one ``error:`` line saying so; one that never needs the lock works.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aggregator.cli import main
from aggregator.storage.engine import make_engine
from tests.faultkit import sqlite_exclusive_lock, sqlite_write_lock
from tests.feedserver import article_page

BUSY = 0.3  # seconds: the busy timeout of the test's database
LOCKED = f"error: the database is locked by another process (busy for more than {BUSY:g} s): "
Lock = Callable[[Path], AbstractContextManager[object]]

# Commands that write to the database (or, for run --once and crawl, claim it first).
WRITERS = [
    ("poll",),
    ("poll", "blog", "--force"),
    ("crawl", "blog"),
    ("db", "upgrade"),
    ("db", "purge", "--days", "1", "--yes"),
    ("run", "--once"),
    ("run",),  # the daemon: it would run on, were it not stopped at its start
]
# Commands that only read it: a writer elsewhere does not stop them (WAL).
READERS = [
    ("status",),
    ("status", "--json"),
    ("feed", "build"),
    ("db", "current"),
    ("articles",),
    ("rules", "suggest", "blog"),
    ("extract", "--source", "blog", "page.html"),
]
# Commands that never open the database.
UNTOUCHED = [("sources", "list"), ("sources", "import", "subscriptions.opml")]


@pytest.fixture(scope="module")
def polled_database(tmp_path_factory, blog_site) -> Path:
    """A database with the blog polled into it (articles to read, list and purge), made once."""
    folder = tmp_path_factory.mktemp("polled")
    database = folder / "polled.db"
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(_settings(database, blog_site, folder)), encoding="utf-8")
    assert main(["-c", str(config), "poll", "--json"]) == 0
    return database


def _settings(database: Path, blog_site, folder: Path) -> dict[str, Any]:
    blog = {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url,
            "relevance": "keep_all", "crawl": {"article_urls": ["/20"]}}  # fmt: skip
    return {
        "database": {"url": f"sqlite:///{database}?timeout={BUSY}"},
        "network": {"allow_private": True},
        "output": {"dir": str(folder / "public")},
        "sources": {"blog": blog},
    }


@pytest.fixture
def locked_setup(write_config, tmp_path, blog_site, polled_database) -> tuple[Path, Path]:
    """A copy of the polled database, its config, a page and an OPML file beside them;
    (config, database file)."""
    database = tmp_path / "state" / "locked.db"
    database.parent.mkdir()
    with sqlite3.connect(polled_database) as source, sqlite3.connect(database) as copy:
        source.backup(copy)
    config = write_config(_settings(database, blog_site, tmp_path))
    (tmp_path / "page.html").write_bytes(article_page("A tool library opens").body)
    (tmp_path / "subscriptions.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline type="rss" text="Other" xmlUrl="https://other.example/feed/"/></body></opml>',
        encoding="utf-8",
    )
    return config, database


def _assert_one_locked_line(result, started: float) -> None:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(LOCKED), result.err
    assert "database.url" in lines[0]  # and what to do about it
    assert time.monotonic() - started < 60  # it waited for the lock, then gave up


@pytest.mark.parametrize("lock", [sqlite_write_lock, sqlite_exclusive_lock], ids=["writers", "all"])
@pytest.mark.parametrize("command", WRITERS, ids=" ".join)
def test_a_command_that_writes_fails_in_one_line(locked_setup, run_cli, command, lock) -> None:
    config, database = locked_setup
    with lock(database):
        started = time.monotonic()
        result = run_cli("-c", str(config), *command)
    _assert_one_locked_line(result, started)


@pytest.mark.parametrize("command", [*READERS, ("serve", "--port", "0")], ids=" ".join)
def test_a_command_that_reads_fails_in_one_line_when_readers_are_locked_out(
    locked_setup, run_cli, command
) -> None:
    config, database = locked_setup
    with sqlite_exclusive_lock(database):
        started = time.monotonic()
        result = run_cli("-c", str(config), *command)
    _assert_one_locked_line(result, started)


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_writer_does_not_stop_a_command_that_only_reads(locked_setup, run_cli, command) -> None:
    config, database = locked_setup
    with sqlite_write_lock(database):
        result = run_cli("-c", str(config), *command)
    assert result.code == 0, result.err
    assert "error:" not in result.err


@pytest.mark.parametrize("command", UNTOUCHED, ids=" ".join)
def test_a_command_without_the_database_does_not_notice_the_lock(
    locked_setup, run_cli, command
) -> None:
    config, database = locked_setup
    with sqlite_exclusive_lock(database):
        result = run_cli("-c", str(config), *command)
    assert result.code == 0, result.err


def test_adding_a_source_does_not_notice_the_lock(locked_setup, run_cli, news_site) -> None:
    config, database = locked_setup
    with sqlite_exclusive_lock(database):
        result = run_cli("-c", str(config), "sources", "add", f"{news_site.base_url}/")
    assert result.code == 0, result.err


# --- PostgreSQL: a lock timeout, a server that does not answer ----------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("poll",), ("status",)], ids=" ".join)
def test_a_postgres_lock_timeout_is_one_line(
    write_config, postgres_url, blog_site, run_cli, command
) -> None:
    url = make_url(postgres_url)
    options = f"{url.query['options']} -clock_timeout=500"  # ms a statement waits for a lock
    waiting = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    config = write_config(
        {
            "database": {"url": waiting},
            "sources": {"blog": {"homepage": f"{blog_site.base_url}/", "feed": blog_site.feed_url}},
        }
    )
    assert run_cli("-c", str(config), "db", "upgrade").code == 0
    holder = make_engine(postgres_url)
    try:
        with holder.begin() as connection:
            connection.execute(text("LOCK TABLE sources IN ACCESS EXCLUSIVE MODE"))
            result = run_cli("-c", str(config), *command)
    finally:
        holder.dispose()
    assert result.code == 1, result.out + result.err
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: the database is locked by another session (")
    assert "lock timeout" in line and "Traceback" not in result.out


def test_a_database_server_that_does_not_answer_is_one_line(write_config, run_cli) -> None:
    pytest.importorskip("psycopg")
    config = write_config({"database": {"url": "postgresql://postgres@127.0.0.1:1/none"}})
    result = run_cli("-c", str(config), "status")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: cannot reach the database (connection failed: ")
    assert line.endswith("is the server running?")
