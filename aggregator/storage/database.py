"""The database handle that commands and workers hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import MutualAidError, StorageError
from aggregator.storage import migrate
from aggregator.storage.engine import WRITE_OPTION, display_url, make_engine


class Database:
    """An engine and session factories; ``session()`` and ``write_session()`` are transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{WRITE_OPTION: True})  # same pool, other BEGIN
        self._writers = sessionmaker(writer, expire_on_commit=False)

    @property
    def url(self) -> str:
        return display_url(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """Like ``session()``, for work that writes: on SQLite it holds the write lock from BEGIN.

        Use it whenever the transaction may write, above all when it reads first: another
        process's commit between the read and the write would otherwise fail it at once with
        "database is locked", where a write session waits its turn (the busy timeout).
        """
        with self._writers.begin() as session:
            yield session

    def upgrade(self) -> migrate.UpgradeResult:
        return migrate.upgrade(self.engine)

    def ensure_schema(self) -> migrate.UpgradeResult | None:
        return migrate.ensure_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, upgrade: bool = True) -> Database:
    """Open the database at ``url``; with ``upgrade`` (the default) bring its schema up to date."""
    database = Database(make_engine(url))
    try:
        if upgrade:
            database.ensure_schema()
        else:
            with database.engine.connect():
                pass
    except OperationalError as exc:
        database.close()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"cannot open database {display_url(url)}: {reason}") from None
    return database


def describe_error(exc: BaseException) -> str:
    """One line saying why ``exc`` happened, for logs, ``runs`` rows and ``status``.

    A database error gives the driver's own message ("database is locked", "database or disk
    is full", "terminating connection due to administrator command") without the SQL.
    """
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    elif isinstance(exc, MutualAidError | OSError):
        text = str(exc)
    else:
        text = repr(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# SQLite result codes (and the extended codes under them) that say the database itself is
# unwell, and PostgreSQL SQLSTATE classes that say the same: a connection lost, the server
# shutting down, out of disk or memory.
_SQLITE_FAULTS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY",
                  "SQLITE_CANTOPEN", "SQLITE_NOMEM")  # fmt: skip
_POSTGRES_FAULTS = ("08", "53", "57P")


def is_database_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (locked, full, gone), not the statement or data.

    Retrying the same work item by item cannot help with these; the caller should give up on
    the whole unit of work and try again later.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    name = getattr(exc.orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(_SQLITE_FAULTS)
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(state, str):
        return state.startswith(_POSTGRES_FAULTS)
    return isinstance(exc, OperationalError)  # no code at all: no connection could be made
