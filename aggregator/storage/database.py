"""The database handle that commands and workers hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import StorageError
from aggregator.storage import migrate
from aggregator.storage.engine import display_url, make_engine


class Database:
    """An engine and a session factory; ``session()`` is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        return display_url(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        with self._sessions.begin() as session:
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
