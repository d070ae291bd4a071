"""Writing poll outcomes: new fetch states, pending entries and ``runs`` rows, many sources per
transaction.

A poll of a thousand unchanged feeds would otherwise spend most of its time committing a
thousand tiny transactions. Rows wait here until ``BATCH`` of them are pending or the poll
ends (``flush``); articles are never part of this, they are stored by the ingest core as soon
as they are fetched, so a crash between the two only means a feed is read once more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregator.ingest import IngestReport
from aggregator.poll.collect import Collected
from aggregator.poll.pending import PendingChanges, to_row
from aggregator.poll.state import FeedState, save_states
from aggregator.runs import RunStatus
from aggregator.storage import Database, Session, pending, runs

BATCH = 200


class Recorder:
    def __init__(
        self,
        database: Database,
        batch: int = BATCH,
        forget_given_up_before: datetime | None = None,
    ) -> None:
        self.database = database
        self.batch = batch
        self.forget_before = forget_given_up_before  # entries given up before then are dropped
        self._states: dict[int, FeedState] = {}
        self._runs: list[dict[str, Any]] = []
        self._pending: list[tuple[int, PendingChanges]] = []

    def add(
        self,
        source_id: int,
        state: FeedState,
        run: dict[str, Any],
        pending: PendingChanges | None = None,
    ) -> None:
        self._states[source_id] = state
        self._runs.append(run)
        if pending:
            self._pending.append((source_id, pending))
        if len(self._runs) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self._runs:
            return
        with self.database.write_session() as session:
            save_states(session, list(self._states.items()))
            self._write_pending(session)
            runs.insert_runs(session, self._runs)
        self._states.clear()
        self._runs.clear()
        self._pending.clear()

    def _write_pending(self, session: Session) -> None:
        if not self._pending:
            return
        for source_id, changes in self._pending:
            pending.delete_links(session, source_id, changes.delete)
        rows = [to_row(sid, entry) for sid, changes in self._pending for entry in changes.save]
        pending.save_rows(session, rows)
        if self.forget_before is not None:
            pending.forget_given_up(session, self.forget_before)


def run_row(collected: Collected, report: IngestReport, finished: datetime) -> dict[str, Any]:
    """The ``runs`` row for one poll or backfill of one source."""
    counts = report.counts
    return {
        "source_id": collected.job.source_id,
        "kind": collected.kind,
        "status": RunStatus.of(collected.status),
        "started_at": collected.started_at,
        "finished_at": finished,
        "fetched": collected.requests,
        "new": counts.get("new", 0),
        "updated": counts.get("updated", 0),
        "unchanged": counts.get("unchanged", 0) + counts.get("duplicate", 0) + collected.unchanged,
        "failed": len(collected.failed) + len(report.failed),
        "error": collected.error,
    }
