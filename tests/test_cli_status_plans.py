"""``status`` reads ``runs``, ``articles`` and ``sightings`` by index searches only, and its
work does not grow with the runs stored.

Plans: every statement the command sends is explained on the same database (``tests/plans.py``);
on SQLite no step may be a ``SCAN`` of those tables (a full pass over the table or one of its
indexes), on PostgreSQL, with sequential scans and sorts priced out (so tiny test tables plan as
large ones would), no step may be a sequential scan or an index scan without an index condition
on them. A search can still read every row (``source_id IN (all sources)``), so the work is
also counted, in SQLite virtual-machine steps (deterministic, not a timing): ten times the
runs, the same steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.storage import open_database
from aggregator.storage.health import daemon_health, source_health
from aggregator.storage.models import Source
from aggregator.storage.runs import insert_runs_of
from aggregator.storage.schedule import last_crawls
from tests.plans import assert_no_table_scans, captured_statements, naming, plan_problems
from tests.publish_data import Row, insert_rows
from tests.runs_history import write_history


@contextmanager
def _planning(url: str) -> Iterator[Session]:
    """A session to plan in (the command's own engine is gone by then)."""
    database = open_database(url)
    try:
        with database.session() as session:
            yield session
    finally:
        database.close()


def test_status_reads_runs_articles_and_sightings_by_index_only(
    run_cli, write_config, database_url
) -> None:
    sources = {name: {"homepage": f"https://{name}.example/", "feed": f"https://{name}.example/feed"}
               for name in ("a", "b")}  # fmt: skip
    sources["b"]["relevance"] = "keep_all"  # the published filter then reads sightings too
    path = write_config({"database": {"url": database_url}, "sources": sources})
    database = open_database(database_url)
    write_history(database, datetime.now(UTC))
    _add_articles(database)
    database.close()
    with captured_statements() as sent:
        result = run_cli("-c", str(path), "status", "--json")
    assert result.code == 0, result.err
    counts = {
        source["name"]: (source["articles"], source["published"], source["sightings"])
        for source in json.loads(result.out)["sources"]
    }
    assert counts == {"a": (3, 2, 3), "b": (2, 2, 3)}
    assert len(naming(sent, "runs")) >= 5  # the newest run, failures, failing since, the daemon's
    assert len(naming(sent, "articles")) >= 2  # articles, published ones
    assert naming(sent, "sightings")
    with _planning(database_url) as session:
        assert_no_table_scans(
            session, sent, tables=("runs", "articles", "sightings"), price_out=True
        )


def _add_articles(database: Any) -> None:
    """Three articles first seen at a: one relevant, one not but seen at b too (keep_all, so
    published), one neither; two at b, published whether relevant or not."""
    with database.session() as session:
        ids = dict(session.execute(select(Source.name, Source.id)).all())
    a, b = ids["a"], ids["b"]
    insert_rows(
        database,
        [
            Row(id=1, source_id=a, relevance=9.0),
            Row(id=2, source_id=a, relevance=1.0, also_seen=((b, "https://b.example/2"),)),
            Row(id=3, source_id=a, relevance=1.0),
            Row(id=4, source_id=b, relevance=9.0),
            Row(id=5, source_id=b, relevance=1.0),
        ],
    )


def test_the_checker_sees_a_scan(database_url) -> None:
    """The check can fail: a count of runs by their error text reads the whole table, as does
    a count of articles by their author (under an alias), and a count of all articles reads a
    whole index of the table (SQLite: a covering-index scan; PostgreSQL, with sequential scans
    priced out: a bitmap index scan without an index condition)."""
    by_error = "SELECT count(*) FROM runs WHERE error = 'HTTP 503'"
    by_author = "SELECT count(*) FROM articles AS a1 WHERE a1.author = 'x'"
    everything = "SELECT count(*) FROM articles"
    with _planning(database_url) as session:
        assert plan_problems(session, by_error, (), ("runs",), price_out=True)
        assert plan_problems(session, by_author, (), ("articles",), price_out=True)
        assert plan_problems(session, everything, (), ("articles",), price_out=True)


def test_status_work_does_not_grow_with_the_runs_stored(sqlite_url) -> None:
    """Counted in SQLite virtual-machine steps (not time): status over ten times the runs does
    the same work, where a search over all of a source's runs would do ten times as much."""
    database = open_database(sqlite_url)
    now = datetime.now(UTC)
    write_history(database, now)
    _add_old_polls(database, now, 1000)
    small = _steps_of_status(database)
    _add_old_polls(database, now, 9000)
    large = _steps_of_status(database)
    database.close()
    assert large < small * 1.1, (small, large)


def _add_old_polls(database: Any, now: datetime, count: int) -> None:
    """``count`` successful polls of each source, hourly, from a year ago backwards."""
    with database.write_session() as session:
        rows = [
            (name, {"kind": "poll", "status": "ok", "fetched": 3, "new": 0, "updated": 0,
                    "unchanged": 3, "failed": 0, "started_at": start,
                    "finished_at": start + timedelta(seconds=2)})
            for hour in range(count)
            for name in ("a", "b")
            if (start := now - timedelta(days=365, hours=hour))
        ]  # fmt: skip
        insert_runs_of(session, rows)


def _steps_of_status(database: Any) -> int:
    """VM steps of status's reads, the second time (the first also reads the schema)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    for _ in range(2):
        steps = 0
        with database.session() as session:
            raw = session.connection().connection.driver_connection
            raw.set_progress_handler(count, 1)
            try:
                source_health(session, ["a", "b"])
                daemon_health(session)
            finally:
                raw.set_progress_handler(None, 1)
    return steps


def test_the_daemon_tick_reads_the_last_crawls_by_index_only(database_url) -> None:
    """``last_crawls`` runs at every tick of the daemon: no scan of runs there either."""
    database = open_database(database_url)
    now = datetime.now(UTC)
    write_history(database, now)
    with database.session() as session, captured_statements(session) as sent:
        crawls = last_crawls(session)
    database.close()
    assert crawls == {"a": now - timedelta(days=100)}  # the newest, still running
    assert naming(sent, "runs")
    with _planning(database_url) as session:
        assert_no_table_scans(session, sent, tables=("runs",), price_out=True)
