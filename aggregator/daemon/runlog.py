"""``runs`` rows the daemon writes itself: rebuilds, purges, and polls or crawls that raised.

The poller and the crawler record their own runs. When one of them raises instead (the
database is locked, full or restarting), or for the daemon's own work, the daemon writes the
row here, so ``mutualaid status`` can say what happened. A row the database cannot take now is
kept (up to ``KEEP`` of them) and written by the daemon's next try (it retries soon, with a
backoff) or with the next row that goes through, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from aggregator.daemon.work import WorkResult
from aggregator.runs import RunStatus
from aggregator.storage import Database, DatabaseError, runs
from aggregator.storage.database import describe_error

log = logging.getLogger(__name__)
KEEP = 1000  # rows held while the database is away; the oldest go first beyond this


class RunLog:
    """Rows waiting to be written; thread-safe, since jobs finish on several threads."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[str, dict[str, Any]]] = []  # (source name, row)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, result: WorkResult, finished_at: datetime | None = None) -> None:
        """Keep the row for ``result``; call ``flush`` to write it."""
        finished = finished_at or datetime.now(UTC)
        row = {
            "kind": result.kind,
            "status": RunStatus.of(result.status),
            "started_at": result.started_at or finished,
            "finished_at": finished,
            "new": int(result.counts.get("new", 0)),
            "updated": int(result.counts.get("updated", 0)),
            "error": result.error,
        }
        with self._lock:
            self._pending.append((result.source, row))
            del self._pending[:-KEEP]

    def flush(self) -> bool:
        """Write every row kept; False (keeping them) if the database cannot take them now."""
        if not self._flushing.acquire(blocking=False):
            return False  # another thread is writing them
        try:
            with self._lock:
                waiting = list(self._pending)
            if not waiting:
                return True
            try:
                with self.database.write_session() as session:
                    runs.insert_runs_of(session, waiting)
            except DatabaseError as exc:
                log.info("%d run(s) not recorded yet: %s", len(waiting), describe_error(exc))
                return False
            written = {id(item) for item in waiting}
            with self._lock:
                self._pending = [item for item in self._pending if id(item) not in written]
            return True
        finally:
            self._flushing.release()
