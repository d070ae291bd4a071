"""Engines: SQLite tuned for one writer and many readers, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from aggregator.extras import require
from aggregator.storage.faults import explain_faults

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for the lock
# Execution option of the engine behind write sessions: on SQLite their BEGIN takes the write lock.
WRITE_OPTION = "mutualaid_writes"


def normalise_url(url: str | URL) -> URL:
    """Pick the drivers we ship: psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **options: Any) -> Engine:
    """Create an engine; a SQLite file gets its folder, WAL, a busy timeout and foreign keys.

    Faults of the database (locked, full, unreachable) raise ``faults.DatabaseFaultError``.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.get_driver_name() == "psycopg":
            require("psycopg", extra="postgres", purpose="a PostgreSQL database")
        engine = create_engine(parsed, pool_pre_ping=True, **options)
        explain_faults(engine, display_url(parsed), busy_timeout=None)
        return engine
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # How long a writer waits for the lock: sqlite3's ``timeout`` (its busy timeout), which
    # pysqlite takes from the URL's ``?timeout=SECONDS``; 30 s when the URL does not say.
    if "timeout" not in parsed.query:
        options["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT,
            **options.get("connect_args", {}),
        }
    engine = create_engine(parsed, **options)
    _tune_sqlite(engine)
    explain_faults(engine, display_url(parsed), busy_timeout(parsed, options))
    return engine


def busy_timeout(parsed: URL, options: dict[str, Any]) -> float | None:
    """The seconds a SQLite writer waits for the lock, as ``make_engine`` sets it up."""
    given = parsed.query.get("timeout", options.get("connect_args", {}).get("timeout"))
    try:
        return float(given) if isinstance(given, str | int | float) else None
    except ValueError:
        return None


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling issues BEGIN late and hides it from SQLAlchemy; turn it
    # off and let SQLAlchemy emit BEGIN itself so a transaction means what the code says.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Up to 64 MiB of pages per connection (SQLite's default is 2 MiB): at 100,000 articles
        # the indexes a batch of ingest searches no longer fit in 2 MiB and each lookup reads the
        # file; with 64 MiB, 1,000 articles into 100k cost 1.8x what they cost into 1k, not 4.8x.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    # A transaction that reads and then writes must not start as a reader: SQLite refuses, at
    # once and whatever the busy timeout, to upgrade a read snapshot another writer has since
    # changed ("database is locked"). Write sessions ask for the lock at BEGIN and wait for it.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    return normalise_url(url).render_as_string(hide_password=True)
