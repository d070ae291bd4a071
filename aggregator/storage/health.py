"""Read-only health, per source and of the daemon's own work: what ``mutualaid status`` reports.

Every read of ``runs`` here is an index search per source (the newest run, the newest of a kind
and status, the first failure since the last success), so status costs the same whether the
table holds a thousand runs or millions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from aggregator.runs import RunKind, RunStatus
from aggregator.storage.models import Article, FetchState, Run, Sighting, Source
from aggregator.storage.runs import first_failed_poll, newest_per_source, newest_run_id


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

    @property
    def failed_run(self) -> bool:
        return self.status == RunStatus.FAILED


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
    feed_ttl: timedelta | None = None  # the longest <ttl> its feeds asked for
    articles: int = 0
    published: int | None = None  # of ``articles``, when asked for with a publish condition
    sightings: int = 0
    last_run: RunSummary | None = None
    last_failure: RunSummary | None = None  # the newest failed poll or crawl, however old
    failing_since: datetime | None = None  # first failed poll since the last good one
    flags: tuple[str, ...] = ()  # warnings from the last reading of the feed


@dataclass(frozen=True, slots=True)
class DaemonHealth:
    """The daemon's own work: the newest feed rebuild and purge it recorded."""

    last_rebuild: RunSummary | None = None
    last_purge: RunSummary | None = None

    @property
    def failed(self) -> list[RunSummary]:
        return [run for run in (self.last_rebuild, self.last_purge) if run and run.failed_run]


def source_health(
    session: Session, names: Iterable[str], published: ColumnElement[bool] | None = None
) -> list[SourceHealth]:
    """Health of each named source, in the order given; unknown names report as never run.

    ``published`` (the feeds' condition for a published article) adds published counts.
    """
    wanted = list(names)
    query = select(Source.name, Source.id).where(Source.name.in_(wanted))
    ids = dict(session.execute(query).all())
    states = _states_by_source(session, ids.values())
    articles = _count_by(session, Article.primary_source_id, ids.values())
    shown = (
        _count_by(session, Article.primary_source_id, ids.values(), published)
        if published is not None
        else None
    )
    sightings = _count_by(session, Sighting.source_id, ids.values())
    runs = _last_runs(session, ids.values())
    failures = _last_failures(session, ids.values())
    since = _failing_since(session, ids.values())
    report = []
    for name in wanted:
        source_id = ids.get(name)
        if source_id is None:
            report.append(SourceHealth(name=name, known=False))
            continue
        health = _summarise(
            name,
            states.get(source_id, []),
            articles.get(source_id, 0),
            sightings.get(source_id, 0),
            runs.get(source_id),
        )
        failure, failing = failures.get(source_id), since.get(source_id)
        health = replace(health, last_failure=failure, failing_since=failing)
        if shown is not None:
            health = replace(health, published=shown.get(source_id, 0))
        report.append(health)
    return report


def daemon_health(session: Session) -> DaemonHealth:
    """The newest rebuild and purge the daemon recorded (runs without a source)."""
    found: dict[str, RunSummary] = {}
    for kind in (RunKind.REBUILD, RunKind.PURGE):
        newest = [
            newest_run_id(
                Run.source_id.is_(None), Run.kind == kind, Run.status == status
            ).scalar_subquery()
            for status in RunStatus
        ]
        runs = session.scalars(select(Run).where(Run.id.in_(newest)))
        latest = max(runs, key=lambda run: (run.started_at, run.id), default=None)
        if latest is not None:
            found[kind] = _summary(latest)
    return DaemonHealth(last_rebuild=found.get("rebuild"), last_purge=found.get("purge"))


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
        feed_ttl=max(
            (timedelta(seconds=state.ttl_seconds) for state in states if state.ttl_seconds),
            default=None,
        ),
        articles=articles,
        sightings=sightings,
        last_run=last_run,
        flags=_flags(states),
    )


def _flags(states: list[FetchState]) -> tuple[str, ...]:
    """The flags of the state polled last (older ones belong to a feed URL no longer used)."""
    attempted = [state for state in states if state.last_attempt_at is not None]
    newest = max(attempted, key=lambda state: state.last_attempt_at or 0, default=None)
    return tuple(newest.flags or ()) if newest else ()


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    return max((value for value in values if value is not None), default=None)


def _states_by_source(session: Session, ids: Iterable[int]) -> dict[int, list[FetchState]]:
    grouped: dict[int, list[FetchState]] = {}
    for state in session.scalars(select(FetchState).where(FetchState.source_id.in_(list(ids)))):
        grouped.setdefault(state.source_id, []).append(state)
    return grouped


def _count_by(
    session: Session,
    column: InstrumentedAttribute[int],
    ids: Iterable[int],
    *where: ColumnElement[bool],
) -> dict[int, int]:
    query = select(column, func.count()).where(column.in_(list(ids)), *where).group_by(column)
    return dict(session.execute(query).all())


def _per_source(ids: Iterable[int], *where: ColumnElement[bool]) -> Select[int, Any]:
    """Each of the sources with the id of its newest run matching ``where``."""
    return newest_per_source(*where).where(Source.id.in_(list(ids)))


def _last_runs(session: Session, ids: Iterable[int]) -> dict[int, RunSummary]:
    """The newest run of each source."""
    found = session.execute(_per_source(ids)).all()
    return _summaries(session, [run_id for _source, run_id in found if run_id is not None])


def _last_failures(session: Session, ids: Iterable[int]) -> dict[int, RunSummary]:
    """The newest failed run of each source, of any kind: the newest of each kind's newest."""
    wanted = list(ids)
    found = [
        run_id
        for kind in RunKind
        for _source, run_id in session.execute(
            _per_source(wanted, Run.kind == kind, Run.status == RunStatus.FAILED)
        )
        if run_id is not None
    ]
    return _summaries(session, found)


def _summaries(session: Session, run_ids: list[int]) -> dict[int, RunSummary]:
    """The newest of the given runs for each of their sources."""
    newest: dict[int, Run] = {}
    for run in session.scalars(select(Run).where(Run.id.in_(run_ids))):
        if run.source_id is None:
            continue
        held = newest.get(run.source_id)
        if held is None or (run.started_at, run.id) > (held.started_at, held.id):
            newest[run.source_id] = run
    return {source_id: _summary(run) for source_id, run in newest.items()}


def _failing_since(session: Session, ids: Iterable[int]) -> dict[int, datetime]:
    """For sources whose polls fail: when the first failure after the last success started."""
    first_failure = first_failed_poll(Run.started_at)
    query = select(Source.id, first_failure).where(Source.id.in_(list(ids)))
    return {source_id: since for source_id, since in session.execute(query) if since is not None}


def _summary(run: Run) -> RunSummary:
    return RunSummary(
        kind=run.kind,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        new=run.new,
        updated=run.updated,
        failed=run.failed,
        error=run.error,
    )
