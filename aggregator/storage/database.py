"""The database handle that commands and workers hold."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import StorageError
from aggregator.storage import migrate
from aggregator.storage.engine import WRITE_OPTION, display_url, make_engine
from aggregator.storage.faults import describe_error, is_database_fault

__all__ = ["Database", "describe_error", "is_database_fault", "open_database"]

log = logging.getLogger(__name__)


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

    def answers(self) -> bool:
        """Whether the database answers a trivial query now (the server's health check)."""
        try:
            with self.session() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.exception("the database does not answer")
            return False
        return True

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
    except StorageError:  # a fault, explained (``faults``): locked, unreachable ...
        database.close()
        raise
    except OperationalError as exc:
        database.close()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"cannot open database {display_url(url)}: {reason}") from None
    return database
