"""Named locks that hold across processes sharing one database.

The daemon holds ``daemon`` for its lifetime, and every poll or crawl of a source holds
``source:<name>`` while it runs, so two daemons never run on one database and a manual
``mutualaid poll`` never fetches a source the daemon is fetching; a process recording runs holds
one of its own (``storage.running``), so its runs are known alive. SQLite databases use ``flock``
on files beside the database; PostgreSQL uses session advisory locks, which also work across
machines. Locks die with their process: a killed daemon leaves nothing to clean up. An advisory
lock also dies with its database session (a server restart): ``HeldLock.check`` notices and takes
it back, unless another process was quicker.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from aggregator.errors import MutualAidError
from aggregator.storage import Database
from aggregator.storage.database import describe_error

log = logging.getLogger(__name__)


class LockBusyError(MutualAidError):
    """Another process holds the lock."""

    def __init__(self, name: str, holder: str) -> None:
        self.name = name
        super().__init__(f"{name} is busy: {holder}")


class HeldLock:
    """A lock being held. A file lock lasts as long as its process."""

    def __init__(self, name: str) -> None:
        self.name = name

    def check(self) -> bool:
        """Whether the lock is still held (taking it back if it was lost and is free).

        False when that cannot be told now (the database is away); ``LockBusyError`` when
        another process took it meanwhile.
        """
        return True


@contextmanager
def hold_lock(database: Database, name: str, *, discard: bool = False) -> Iterator[HeldLock]:
    """Hold the lock ``name`` for the ``with`` block; raise ``LockBusyError`` if it is taken.

    ``discard`` removes a file lock's file on release: only for a name used once (``is_held``).
    """
    backend = database.engine.url.get_backend_name()
    if backend == "postgresql":
        with _advisory_lock(database, name) as held:
            yield held
    elif backend == "sqlite":
        with _file_lock(_lock_folder(database), name, discard=discard):
            yield HeldLock(name)
    else:
        yield HeldLock(name)  # no cross-process lock on this backend: documented, not hidden


def is_held(database: Database, name: str, *, discard: bool = False) -> bool:
    """Whether a live process (this one included) holds the lock ``name``: a look, no wait.

    True when the backend has no cross-process locks, since then nothing can be told.
    ``discard`` removes a lock file its holder left behind: only for a name used once, since
    removing a lock file others may still open would let two of them hold "the" lock.
    """
    backend = database.engine.url.get_backend_name()
    if backend == "postgresql":
        with database.engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = {"key": advisory_key(name, str(schema))}
            free = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar()
            if free:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            connection.commit()
        return not free
    if backend == "sqlite":
        return _file_held(_lock_folder(database) / f"{_safe(name)}.lock", discard)
    return True


def _lock_folder(database: Database) -> Path:
    path = database.engine.url.database or ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / "mutualaid-locks"
    return Path(path).with_name(Path(path).name + ".locks")


@contextmanager
def _file_lock(folder: Path, name: str, *, discard: bool = False) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(name)}.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockBusyError(name, f"held by {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            if discard:
                path.unlink(missing_ok=True)
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _file_held(path: Path, discard: bool) -> bool:
    try:
        descriptor = os.open(path, os.O_RDWR)  # never creates it: no file, no holder
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        if discard:
            path.unlink(missing_ok=True)  # its holder died without removing it
        return False
    finally:
        os.close(descriptor)  # releases the lock, if it was taken here


def advisory_key(name: str, schema: str) -> int:
    """The 64-bit key of the lock ``name`` on PostgreSQL (``pg_locks``: classid, objid).

    Advisory locks are per database; the schema is part of the key, so instances kept in
    different schemas of one database do not block each other.
    """
    digest = hashlib.blake2b(f"{schema}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _AdvisoryLock(HeldLock):
    """A session-level advisory lock on one connection, and the session (backend) holding it."""

    def __init__(self, name: str, connection: Connection) -> None:
        super().__init__(name)
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        self.key = advisory_key(name, str(schema))
        self.connection = connection
        self.backend = self._take()

    def _take(self) -> int:
        row = self.connection.execute(
            text("SELECT pg_try_advisory_lock(:key), pg_backend_pid()"), {"key": self.key}
        ).one()
        self.connection.commit()
        if not row[0]:
            raise LockBusyError(self.name, "held by another process")
        return int(row[1])

    def check(self) -> bool:
        try:
            backend = self._backend()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._forget_transaction()
            try:
                backend = self._backend()  # a new session, if the server is back
            except DBAPIError:
                self._forget_transaction()
                return False
        if backend == self.backend:
            return True
        self.backend = self._take()  # the old session, and the lock with it, is gone
        log.warning("lock %s was lost with its database session; taken again", self.name)
        return True

    def _forget_transaction(self) -> None:
        """Roll back what the lost session left, if the connection still can."""
        try:
            self.connection.rollback()
        except SQLAlchemyError as exc:
            log.info("lock %s: rollback after a lost session failed: %s", self.name, exc)

    def _backend(self) -> int:
        backend = int(self.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        self.connection.commit()
        return backend

    def release(self) -> None:
        """Release the lock; one whose session died (a server restart) is gone already."""
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self.connection.commit()
        except SQLAlchemyError as exc:  # the session is gone or going: the lock goes with it
            log.warning("lock %s went with its session: %s", self.name, describe_error(exc))


@contextmanager
def _advisory_lock(database: Database, name: str) -> Iterator[_AdvisoryLock]:
    with database.engine.connect() as connection:
        held = _AdvisoryLock(name, connection)
        try:
            yield held
        finally:
            held.release()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:100]


@contextmanager
def hold_available(database: Database, names: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Hold every lock in ``names`` that is free; yield (held, busy) and release on exit."""
    held: list[str] = []
    busy: list[str] = []
    with ExitStack() as stack:
        for name in names:
            try:
                stack.enter_context(hold_lock(database, name))
                held.append(name)
            except LockBusyError:
                busy.append(name)
        yield held, busy
