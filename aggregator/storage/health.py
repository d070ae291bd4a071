"""Read-only per-source health: what ``mutualaid status`` reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from aggregator.storage.models import Article, FetchState, Run, Sighting, Source


@dataclass(frozen=True, slots=True)
class RunSummary:
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    new: int
    updated: int
    failed: int
    error: str | None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    known: bool  # has the source ever been written to the database?
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_check_at: datetime | None = None
    articles: int = 0
    sightings: int = 0
    last_run: RunSummary | None = None


def source_health(session: Session, names: Iterable[str]) -> list[SourceHealth]:
    """Health of each named source, in the order given; unknown names report as never run."""
    wanted = list(names)
    query = select(Source.name, Source.id).where(Source.name.in_(wanted))
    ids = dict(session.execute(query).all())
    states = _states_by_source(session, ids.values())
    articles = _count_by(session, Article.primary_source_id, ids.values())
    sightings = _count_by(session, Sighting.source_id, ids.values())
    runs = _last_runs(session, ids.values())
    report = []
    for name in wanted:
        source_id = ids.get(name)
        if source_id is None:
            report.append(SourceHealth(name=name, known=False))
            continue
        report.append(
            _summarise(
                name,
                states.get(source_id, []),
                articles.get(source_id, 0),
                sightings.get(source_id, 0),
                runs.get(source_id),
            )
        )
    return report


def _summarise(
    name: str,
    states: list[FetchState],
    articles: int,
    sightings: int,
    last_run: RunSummary | None,
) -> SourceHealth:
    errored = [state for state in states if state.last_error_at is not None]
    latest_error = max(errored, key=lambda state: state.last_error_at or 0, default=None)
    return SourceHealth(
        name=name,
        known=True,
        last_attempt_at=_latest(state.last_attempt_at for state in states),
        last_success_at=_latest(state.last_success_at for state in states),
        last_error=latest_error.last_error if latest_error else None,
        last_error_at=latest_error.last_error_at if latest_error else None,
        consecutive_failures=max((state.consecutive_failures for state in states), default=0),
        next_check_at=min(
            (state.next_check_at for state in states if state.next_check_at), default=None
        ),
        articles=articles,
        sightings=sightings,
        last_run=last_run,
    )


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    return max((value for value in values if value is not None), default=None)


def _states_by_source(session: Session, ids: Iterable[int]) -> dict[int, list[FetchState]]:
    grouped: dict[int, list[FetchState]] = {}
    for state in session.scalars(select(FetchState).where(FetchState.source_id.in_(list(ids)))):
        grouped.setdefault(state.source_id, []).append(state)
    return grouped


def _count_by(
    session: Session, column: InstrumentedAttribute[int], ids: Iterable[int]
) -> dict[int, int]:
    query = select(column, func.count()).where(column.in_(list(ids))).group_by(column)
    return dict(session.execute(query).all())


def _last_runs(session: Session, ids: Iterable[int]) -> dict[int, RunSummary]:
    newest_first = (
        func.row_number()
        .over(partition_by=Run.source_id, order_by=(Run.started_at.desc(), Run.id.desc()))
        .label("position")
    )
    ranked = select(Run.id, newest_first).where(Run.source_id.in_(list(ids))).subquery()
    latest = select(ranked.c.id).where(ranked.c.position == 1)
    runs = session.scalars(select(Run).where(Run.id.in_(latest)))
    return {
        run.source_id: RunSummary(
            kind=run.kind,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            new=run.new,
            updated=run.updated,
            failed=run.failed,
            error=run.error,
        )
        for run in runs
        if run.source_id is not None
    }
