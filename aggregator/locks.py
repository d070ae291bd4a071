"""Named locks that hold across processes sharing one database.

The daemon holds ``daemon`` for its lifetime, and every poll or crawl of a source holds
``source:<name>`` while it runs, so two daemons never run on one database and a manual
``mutualaid poll`` never fetches a source the daemon is fetching. SQLite databases use ``flock``
on files beside the database; PostgreSQL uses session advisory locks, which also work across
machines. Locks die with their process: a killed daemon leaves nothing to clean up.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import text

from aggregator.errors import MutualAidError
from aggregator.storage import Database


class LockBusyError(MutualAidError):
    """Another process holds the lock."""

    def __init__(self, name: str, holder: str) -> None:
        self.name = name
        super().__init__(f"{name} is busy: {holder}")


@contextmanager
def hold_lock(database: Database, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the ``with`` block; raise ``LockBusyError`` if it is taken."""
    backend = database.engine.url.get_backend_name()
    if backend == "postgresql":
        with _advisory_lock(database, name):
            yield
    elif backend == "sqlite":
        with _file_lock(_lock_folder(database), name):
            yield
    else:
        yield  # no cross-process lock on this backend: documented, not silently broken


def _lock_folder(database: Database) -> Path:
    path = database.engine.url.database or ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / "mutualaid-locks"
    return Path(path).with_name(Path(path).name + ".locks")


@contextmanager
def _file_lock(folder: Path, name: str) -> Iterator[None]:
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
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(database: Database, name: str) -> Iterator[None]:
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with database.engine.connect() as connection:
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        connection.commit()
        if not taken:
            raise LockBusyError(name, "held by another process")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


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
