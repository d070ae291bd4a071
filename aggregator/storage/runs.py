"""The ``runs`` rows: one per poll, crawl, rebuild or purge, with what it did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from aggregator.runs import RunKind, RunStatus
from aggregator.storage.models import Run
from aggregator.storage.sources import source_ids

RUNS = cast(Table, Run.__table__)


def insert_runs(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write finished runs, many at once (``source_id`` given in each row)."""
    if rows:
        session.execute(insert(RUNS), [dict(row) for row in rows])


def insert_runs_of(session: Session, rows: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Write finished runs given by source name (a name no longer stored gets no source)."""
    ids = source_ids(session)
    insert_runs(session, [{**row, "source_id": ids.get(name)} for name, row in rows])


def start_run(
    session: Session, source_id: int, kind: RunKind, now: datetime, owner: str | None
) -> int:
    """Record a run as ``running`` by ``owner`` (``storage.running``); its id."""
    run = Run(source_id=source_id, kind=kind, status=RunStatus.RUNNING, started_at=now, owner=owner)
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, **values: Any) -> None:
    """Write the end of a run: its status, counts, error and whatever else ``values`` names."""
    run = session.get_one(Run, run_id)
    for name, value in values.items():
        setattr(run, name, value)
