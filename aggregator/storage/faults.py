"""Database faults: telling them from bad statements, and saying them in one line.

A fault is the database itself failing (locked past the busy timeout, full, unreachable,
restarting), not the statement or the data. Every engine ``make_engine`` builds swaps the error
SQLAlchemy raises for a fault for a ``DatabaseFaultError``: still the ``OperationalError`` (with
the driver's own error) that the storage code catches, rolls back and retries later, and also a
``StorageError``, so a command that meets one anywhere stops with one line saying what happened
and what to do (``aggregator.cli.main``) instead of a traceback.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError

from aggregator.errors import MutualAidError, StorageError

# SQLite result codes (and the extended codes under them) that say the database itself is
# unwell, and PostgreSQL SQLSTATE classes that say the same: a connection lost, the server
# shutting down, out of disk or memory.
_SQLITE_FAULTS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY",
                  "SQLITE_CANTOPEN", "SQLITE_NOMEM")  # fmt: skip
_POSTGRES_FAULTS = ("08", "53", "57P", "55P03")  # 55P03: lock_not_available (lock_timeout)


class DatabaseFaultError(OperationalError, StorageError):
    """A database fault, explained: ``str()`` is the one line for people, ``orig`` the driver's."""

    explanation: str = ""

    def __str__(self) -> str:
        return self.explanation or super().__str__()

    def __reduce__(self) -> tuple[Any, ...]:
        cls, args, state = cast(tuple[Any, tuple[Any, ...], dict[str, Any]], super().__reduce__())
        return cls, args, {**state, "explanation": self.explanation}


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


def is_database_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing (locked, full, gone), not the statement or data.

    Retrying the same work item by item cannot help with these; the caller should give up on
    the whole unit of work and try again later.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    name = _sqlite_name(exc)
    if name is not None:
        return name.startswith(_SQLITE_FAULTS)
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith(_POSTGRES_FAULTS)
    return isinstance(exc, OperationalError)  # no code at all: no connection could be made


def explain_faults(engine: Engine, url: str, busy_timeout: float | None) -> None:
    """Make ``engine`` raise ``DatabaseFaultError`` for faults; ``url`` for messages (no
    password), ``busy_timeout`` the seconds a SQLite writer waits for the lock."""

    @event.listens_for(engine, "handle_error", retval=True)
    def _explain(context: ExceptionContext) -> BaseException | None:
        error = context.sqlalchemy_exception
        if context.is_pre_ping or not isinstance(error, OperationalError):
            return None  # a failed ping only means "reconnect"; SQLAlchemy handles it
        if isinstance(error, DatabaseFaultError) or not is_database_fault(error):
            return None
        return as_fault(error, explain(error, url, busy_timeout))


def as_fault(error: OperationalError, explanation: str) -> DatabaseFaultError:
    """``error`` as a ``DatabaseFaultError`` (the same statement, driver error and flags)."""
    fault = DatabaseFaultError(
        error.statement,
        error.params,
        error.orig if error.orig is not None else error,
        hide_parameters=error.hide_parameters,
        connection_invalidated=error.connection_invalidated,
        code=error.__dict__.get("code"),
        ismulti=error.ismulti,
    )
    fault.explanation = explanation
    return fault


def explain(error: DBAPIError, url: str | URL, busy_timeout: float | None = None) -> str:
    """What went wrong with the database at ``url`` and what to do about it, in one line."""
    reason = describe_error(error)
    name, state = _sqlite_name(error) or "", _sqlstate(error) or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        waited = f"busy for more than {busy_timeout:g} s" if busy_timeout is not None else reason
        return (
            f"the database is locked by another process ({waited}): another mutualaid command "
            f"or program holds {url}; try again when it is done, or let commands wait longer "
            "with ?timeout=SECONDS on database.url"
        )
    if state == "55P03":
        return (
            f"the database is locked by another session ({reason}): {url}; try again when it "
            "is done, or raise the server's lock_timeout"
        )
    if name.startswith("SQLITE_FULL") or state == "53100":
        return f"the database is full ({reason}): {url}; free disk space, then try again"
    if name.startswith("SQLITE_READONLY"):
        return f"the database cannot be written ({reason}): {url}; check who owns the file"
    if name.startswith("SQLITE_CANTOPEN"):
        return f"cannot open the database ({reason}): {url}; check the path and its permissions"
    if state.startswith("08") or (not name and not state and not error.connection_invalidated):
        return f"cannot reach the database ({reason}): {url}; is the server running?"
    return f"the database failed ({reason}): {url}; try again"


def _sqlite_name(error: DBAPIError) -> str | None:
    name = getattr(error.orig, "sqlite_errorname", None)
    return name if isinstance(name, str) else None


def _sqlstate(error: DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None
