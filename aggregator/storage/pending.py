"""The ``pending_entries`` rows: feed entries whose page is still to be fetched.

Rows go in and out as plain mappings of column values, keyed by (``source_id``, ``link``); the
poller's ``Pending`` is built from them (``aggregator.poll.pending``), and ``status`` reads the
counts and the entries given up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.orm import Session

from aggregator.storage.models import URL_LENGTH, PendingEntry, Source
from aggregator.storage.upsert import upsert

PENDING = cast(Table, PendingEntry.__table__)
KEY = ("source_id", "link")
COLUMNS = [column.name for column in PENDING.columns if column.name != "id"]
log = logging.getLogger(__name__)
_CHUNK = 500  # links per IN (...) list


def rows_for_links(session: Session, source_id: int, links: Iterable[str]) -> list[dict[str, Any]]:
    """The source's rows (waiting or given up) for these entry links."""
    wanted = sorted(set(links))
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(PendingEntry).where(
            PendingEntry.source_id == source_id, PendingEntry.link.in_(chunk)
        )
        found += [_as_row(row) for row in session.scalars(query)]
    return found


def due_rows(session: Session, source_id: int, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` of the source's waiting rows due by ``now``, the longest due first."""
    if limit <= 0:
        return []
    query = (
        select(PendingEntry)
        .where(
            PendingEntry.source_id == source_id,
            PendingEntry.next_try_at <= now,
            PendingEntry.given_up_at.is_(None),
        )
        .order_by(PendingEntry.next_try_at, PendingEntry.id)
        .limit(limit)
    )
    return [_as_row(row) for row in session.scalars(query)]


def next_tries(session: Session, source_ids: Iterable[int]) -> dict[int, datetime | None]:
    """For each of these sources with any row: its earliest next try (None: all given up)."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    waiting = func.min(case((PendingEntry.given_up_at.is_(None), PendingEntry.next_try_at)))
    query = (
        select(PendingEntry.source_id, waiting)
        .where(PendingEntry.source_id.in_(ids))
        .group_by(PendingEntry.source_id)
    )
    return {int(row[0]): row[1] for row in session.execute(query)}


def save_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or update rows keyed by (``source_id``, ``link``); ``first_seen_at`` stays."""
    fitting = [dict(row) for row in rows if _fits(row)]
    if not fitting:
        return
    written = [name for name in COLUMNS if name not in (*KEY, "first_seen_at")]
    upsert(session, PENDING, fitting, key=list(KEY), update=written)


def _fits(row: Mapping[str, Any]) -> bool:
    """Whether the row's link and GUID fit their columns. PostgreSQL refuses a longer value,
    which would fail the whole write of the poll's states and runs with it; such an entry could
    not be stored as an article either."""
    if all(len(row.get(name) or "") <= URL_LENGTH for name in ("link", "guid")):
        return True
    log.warning("not remembering an entry with a link or GUID over %d characters", URL_LENGTH)
    return False


def delete_links(session: Session, source_id: int, links: Iterable[str]) -> None:
    wanted = sorted(set(links))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        session.execute(
            delete(PendingEntry).where(
                PendingEntry.source_id == source_id, PendingEntry.link.in_(chunk)
            )
        )


def forget_given_up(session: Session, before: datetime) -> int:
    """Drop entries given up before ``before``; how many went."""
    result = session.execute(delete(PendingEntry).where(PendingEntry.given_up_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class GivenUp:
    link: str
    error: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PendingSummary:
    """A source's pending entries: how many wait, when the next is due, which were given up."""

    waiting: int = 0
    next_try_at: datetime | None = None
    given_up: tuple[GivenUp, ...] = ()


def summaries(
    session: Session, names: Iterable[str], given_up_shown: int = 5
) -> dict[str, PendingSummary]:
    """Per named source that has any: waiting count, next try, the newest entries given up."""
    by_id = dict(
        session.execute(select(Source.id, Source.name).where(Source.name.in_(list(names)))).all()
    )
    ids = sorted(by_id)
    if not ids:
        return {}
    waiting_query = (
        select(PendingEntry.source_id, func.count(), func.min(PendingEntry.next_try_at))
        .where(PendingEntry.source_id.in_(ids), PendingEntry.given_up_at.is_(None))
        .group_by(PendingEntry.source_id)
    )
    waiting = {sid: (count, due) for sid, count, due in session.execute(waiting_query)}
    gone_query = (  # the columns shown, not the feed's entry each row keeps
        select(
            PendingEntry.source_id,
            PendingEntry.link,
            PendingEntry.last_error,
            PendingEntry.given_up_at,
        )
        .where(PendingEntry.source_id.in_(ids), PendingEntry.given_up_at.is_not(None))
        .order_by(PendingEntry.given_up_at.desc(), PendingEntry.id.desc())
    )
    given_up: dict[int, list[GivenUp]] = {}
    for row in session.execute(gone_query):
        shown = given_up.setdefault(row.source_id, [])
        if len(shown) < given_up_shown and row.given_up_at is not None:
            shown.append(GivenUp(row.link, row.last_error, row.given_up_at))
    return {
        by_id[sid]: PendingSummary(
            waiting=waiting.get(sid, (0, None))[0],
            next_try_at=waiting.get(sid, (0, None))[1],
            given_up=tuple(given_up.get(sid, ())),
        )
        for sid in ids
        if sid in waiting or sid in given_up
    }


def _as_row(row: PendingEntry) -> dict[str, Any]:
    return {name: getattr(row, name) for name in COLUMNS}
