"""``status`` reads ``runs`` by index searches only, and its work does not grow with the table.

Plans: every statement the command sends that names ``runs`` is explained on the same database;
on SQLite no step may be ``SCAN runs`` (a full pass over the table or one of its indexes), on
PostgreSQL, with sequential scans priced out (``enable_seqscan = off``, so a tiny test table
plans as a large one would), no step may be a ``Seq Scan on runs``. A search can still read
every row (``source_id IN (all sources)``), so the work is also counted, in SQLite
virtual-machine steps (deterministic, not a timing): ten times the runs, the same steps. A
minimal plan checker until a shared ``tests/plans.py`` exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from aggregator.storage import open_database
from aggregator.storage.engine import make_engine
from aggregator.storage.health import daemon_health, source_health
from aggregator.storage.runs import insert_runs_of
from aggregator.storage.schedule import last_crawls
from tests.runs_history import write_history

RUNS = re.compile(r"\bruns\b")


@contextmanager
def statements_sent() -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) any engine sends inside the block."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def table_scans(url: str, statements: list[tuple[str, Any]], table: str) -> list[str]:
    """The plan lines that read all of ``table``, with the statement they belong to."""
    engine = make_engine(url)
    found = []
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            postgres = engine.dialect.name == "postgresql"
            cursor = raw.cursor()
            if postgres:
                cursor.execute("SET enable_seqscan = off")
            for statement, parameters in statements:
                cursor.execute(f"EXPLAIN {'' if postgres else 'QUERY PLAN '}{statement}",
                               parameters)  # fmt: skip
                for row in cursor.fetchall():
                    step = str(row[0] if postgres else row[3])
                    if _reads_all(step, table, postgres):
                        found.append(f"{step.strip()} in: {statement[:160]}")
            cursor.close()
    finally:
        engine.dispose()
    return found


def _reads_all(step: str, table: str, postgres: bool) -> bool:
    if postgres:
        return re.search(rf"Seq Scan on {table}\b", step) is not None
    return re.match(rf"SCAN {table}\b", step.strip()) is not None


def test_status_reads_runs_by_index_only(run_cli, write_config, database_url) -> None:
    path = write_config(
        {"database": {"url": database_url},
         "sources": {name: {"homepage": f"https://{name}.example/",
                            "feed": f"https://{name}.example/feed"} for name in ("a", "b")}}
    )  # fmt: skip
    database = open_database(database_url)
    write_history(database, datetime.now(UTC))
    database.close()
    with statements_sent() as sent:
        result = run_cli("-c", str(path), "status", "--json")
    assert result.code == 0, result.err
    reading_runs = [(sql, params) for sql, params in sent if RUNS.search(sql)]
    assert len(reading_runs) >= 5  # the newest run, failures, failing since, the daemon's
    assert table_scans(database_url, reading_runs, "runs") == []


def test_the_checker_sees_a_scan(database_url) -> None:
    """The check can fail: a count of runs by their error text reads the whole table."""
    database = open_database(database_url)
    database.close()
    statement = "SELECT count(*) FROM runs WHERE error = 'HTTP 503'"
    assert table_scans(database_url, [(statement, ())], "runs") != []


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
    with statements_sent() as sent, database.session() as session:
        crawls = last_crawls(session)
    database.close()
    assert crawls == {"a": now - timedelta(days=100)}  # the newest, still running
    reading_runs = [(sql, params) for sql, params in sent if RUNS.search(sql)]
    assert reading_runs
    assert table_scans(database_url, reading_runs, "runs") == []
