"""The ``runs`` rows: one per poll, crawl, rebuild or purge, with what it did; the searches for a
source's newest runs; and their retention, which folds old runs into ``run_totals``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    Update,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from aggregator.runs import RunKind, RunStatus
from aggregator.storage.database import Database
from aggregator.storage.models import Run, RunTotal, Source
from aggregator.storage.sources import source_ids
from aggregator.storage.types import UTCDateTime
from aggregator.storage.upsert import upsert

RUNS = cast(Table, Run.__table__)
RUNS_CHUNK = 2000  # runs folded and deleted per write transaction
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # before any run: "after the last success" with none


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


# -- the newest runs: index searches (``Run``'s indexes) -----------------------------------------


def newest_run_id(*where: ColumnElement[bool]) -> Select[int]:
    """The id of the newest run matching ``where``: one index search when ``where`` fixes a
    prefix of an index on ``runs`` whose next column is ``started_at``."""
    return select(Run.id).where(*where).order_by(Run.started_at.desc(), Run.id.desc()).limit(1)


def newest_per_source(*where: ColumnElement[bool]) -> Select[int, Any]:
    """Each source's id with the id of its newest run matching ``where`` (a search per source)."""
    newest = newest_run_id(Run.source_id == Source.id, *where).correlate(Source)
    return select(Source.id, newest.scalar_subquery())


def first_failed_poll(column: InstrumentedAttribute[Any]) -> ScalarSelect[Any]:
    """``column`` of each source's first failed poll after its newest successful one (after
    none: its first failed poll), correlated to ``sources``: when its polls began failing."""
    ok = aliased(Run)
    last_ok = (
        select(ok.started_at)
        .where(ok.source_id == Source.id, ok.kind == RunKind.POLL, ok.status == RunStatus.OK)
        .order_by(ok.started_at.desc())
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
    )
    failed_polls = (Run.source_id == Source.id, Run.kind == RunKind.POLL)
    after = func.coalesce(last_ok, literal(NEVER, UTCDateTime()))
    return (
        select(column)
        .where(*failed_polls, Run.status == RunStatus.FAILED, Run.started_at > after)
        .order_by(Run.started_at, Run.id)
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
    )


# -- retention: old runs folded into run_totals, then deleted ------------------------------------


@dataclass(frozen=True)
class RunsPreview:
    """What ``purge_runs_before`` at some cutoff would delete: how many, started when."""

    count: int
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Runs of one kind of one source, added up: the folded ones and those still stored."""

    runs: int = 0
    ok_runs: int = 0
    failed_runs: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0  # items that failed, summed
    first_started_at: datetime | None = None
    last_started_at: datetime | None = None

    def __add__(self, other: RunTotals) -> RunTotals:
        sums = {name: getattr(self, name) + getattr(other, name) for name in COUNTS}
        firsts = [at for at in (self.first_started_at, other.first_started_at) if at]
        lasts = [at for at in (self.last_started_at, other.last_started_at) if at]
        return RunTotals(**sums, first_started_at=min(firsts, default=None),
                         last_started_at=max(lasts, default=None))  # fmt: skip


def kept_runs(session: Session) -> set[int]:
    """The runs retention never deletes however old, besides those still ``running``: what
    status and the schedule read. Per source (and for the daemon's runs, with none): the newest
    run of each kind and outcome (so the newest run, success and failure); the first failed
    poll since the last success; the newest complete crawl."""
    found: list[int | None] = []
    for kind in RunKind:
        for status in (RunStatus.OK, RunStatus.FAILED):
            of_kind = (Run.kind == kind, Run.status == status)
            found += [run_id for _source, run_id in session.execute(newest_per_source(*of_kind))]
            found.append(session.scalar(newest_run_id(Run.source_id.is_(None), *of_kind)))
    complete = (Run.kind == RunKind.CRAWL, Run.complete.is_(True))
    found += [run_id for _source, run_id in session.execute(newest_per_source(*complete))]
    found += session.scalars(select(first_failed_poll(Run.id)))
    return {run_id for run_id in found if run_id is not None}


def _old(cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    return Run.started_at < cutoff, Run.status != RunStatus.RUNNING


def preview_runs_purge(database: Database, cutoff: datetime) -> RunsPreview:
    """What ``purge_runs_before(database, cutoff)`` would delete, deleting nothing."""
    with database.session() as session:
        kept = kept_runs(session)
        query = select(func.count(), func.min(Run.started_at), func.max(Run.started_at))
        count, oldest, newest = session.execute(
            query.where(*_old(cutoff), Run.id.not_in(kept))
        ).one()
    return RunsPreview(int(count), oldest, newest)


def purge_runs_before(database: Database, cutoff: datetime) -> int:
    """Fold the runs started before ``cutoff`` into ``run_totals`` and delete them; how many.

    Each chunk is its own write transaction (SQLite's write lock is held for one chunk, so
    polls and the daemon write in between). Runs without a source (the daemon's rebuilds and
    purges, the runs of a source since removed) are deleted without totals. On PostgreSQL a
    chunk's rows are locked and skipped by a second purge running at once, so none is folded
    twice. What is kept is decided once, at the start (``kept_runs``): runs written meanwhile
    are newer than any cutoff in the past.
    """
    with database.session() as session:
        kept = kept_runs(session)
    purged, after = 0, 0
    while True:
        with database.write_session() as session:
            ids = session.scalars(
                select(Run.id)
                .where(Run.id > after, *_old(cutoff))
                .order_by(Run.id)
                .limit(RUNS_CHUNK)
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                return purged
            after = ids[-1]
            doomed = [run_id for run_id in ids if run_id not in kept]
            _fold(session, doomed)
            session.execute(delete(Run).where(Run.id.in_(doomed)))
            purged += len(doomed)


COUNTS = ("runs", "ok_runs", "failed_runs", "fetched", "new", "updated", "unchanged", "failed")
TOTALS = cast(Table, RunTotal.__table__)


def _sums(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Per source and kind, the runs matching ``where`` added up: ``COUNTS``, first, last."""
    counted = (Run.fetched, Run.new, Run.updated, Run.unchanged, Run.failed)
    return (
        select(
            Run.source_id,
            Run.kind,
            func.count(),
            func.count().filter(Run.status == RunStatus.OK),
            func.count().filter(Run.status == RunStatus.FAILED),
            *(func.coalesce(func.sum(column), 0) for column in counted),
            func.min(Run.started_at),
            func.max(Run.started_at),
        )
        .where(Run.source_id.is_not(None), Run.status != RunStatus.RUNNING, *where)
        .group_by(Run.source_id, Run.kind)
    )


def _grouped(session: Session, *where: ColumnElement[bool]) -> dict[tuple[int, str], RunTotals]:
    rows: list[Any] = list(session.execute(_sums(*where)))
    return {
        (int(source_id), kind): RunTotals(
            **{name: int(number) for name, number in zip(COUNTS, numbers, strict=True)},
            first_started_at=first,
            last_started_at=last,
        )
        for source_id, kind, *numbers, first, last in rows
    }


def _fold(session: Session, run_ids: list[int]) -> None:
    """Add the runs ``run_ids`` (finished ones) into their sources' ``run_totals``."""
    grouped = _grouped(session, Run.id.in_(run_ids))
    if not grouped:
        return
    zero = dict.fromkeys(COUNTS, 0)
    upsert(
        session,
        TOTALS,
        [{"source_id": source_id, "kind": kind, **zero} for source_id, kind in sorted(grouped)],
        key=["source_id", "kind"],
        update=[],
    )
    session.execute(_ADD, [_added(key, totals) for key, totals in grouped.items()])


def _add_statement() -> Update:
    """One UPDATE, run for many rows at once, adding a group of runs into a stored total."""
    values: dict[str, Any] = {name: TOTALS.c[name] + bindparam(f"add_{name}") for name in COUNTS}
    for name, earlier in (("first_started_at", True), ("last_started_at", False)):
        stored, given = TOTALS.c[name], bindparam(f"add_{name}", type_=UTCDateTime())
        better = given < stored if earlier else given > stored
        values[name] = case((or_(stored.is_(None), better), given), else_=stored)
    where = (TOTALS.c.source_id == bindparam("of_source"), TOTALS.c.kind == bindparam("of_kind"))
    return update(TOTALS).where(*where).values(values)


_ADD = _add_statement()


def _added(key: tuple[int, str], totals: RunTotals) -> dict[str, Any]:
    names = (*COUNTS, "first_started_at", "last_started_at")
    values = {f"add_{name}": getattr(totals, name) for name in names}
    return {"of_source": key[0], "of_kind": key[1], **values}


def run_totals(session: Session, source_ids: Iterable[int]) -> dict[int, dict[str, RunTotals]]:
    """Per source and kind, every finished run ever recorded: the folded totals plus the runs
    still stored. Reads each stored run of those sources (as many as retention keeps), so it is
    not part of the plain ``status``."""
    wanted = list(source_ids)
    found: dict[int, dict[str, RunTotals]] = {}
    for row in session.execute(select(RunTotal).where(RunTotal.source_id.in_(wanted))).scalars():
        found.setdefault(row.source_id, {})[row.kind] = RunTotals(
            **{name: getattr(row, name) for name in COUNTS},
            first_started_at=row.first_started_at,
            last_started_at=row.last_started_at,
        )
    for (source_id, kind), stored in _grouped(session, Run.source_id.in_(wanted)).items():
        per_kind = found.setdefault(source_id, {})
        per_kind[kind] = per_kind.get(kind, RunTotals()) + stored
    return found


def run_totals_by_name(session: Session, names: Iterable[str]) -> dict[str, dict[str, RunTotals]]:
    """``run_totals`` of the named sources, by name (a source never stored has none: ``{}``)."""
    stored = source_ids(session)
    ids = {name: stored.get(name) for name in names}
    found = run_totals(session, [source_id for source_id in ids.values() if source_id])
    return {name: found.get(source_id or 0, {}) for name, source_id in ids.items()}
