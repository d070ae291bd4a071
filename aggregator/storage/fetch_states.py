"""The ``fetch_states`` rows: what the last poll of each source learned (validators, schedule,
failures, the kind's own state). Rows go in and out as plain mappings of column values; the
poller's ``FeedState`` is built from them (``aggregator.poll.state``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from aggregator.storage.models import FetchState
from aggregator.storage.upsert import upsert

FETCH_STATES = cast(Table, FetchState.__table__)
KEY = ("source_id", "url")


def load_rows(
    session: Session, source_ids: Iterable[int], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """The stored rows of these sources (every URL each was polled at), with ``source_id`` and
    the named ``columns``."""
    wanted = sorted(set(source_ids))
    if not wanted:
        return []
    rows = session.scalars(select(FetchState).where(FetchState.source_id.in_(wanted)))
    names = ["source_id", *(name for name in columns if name != "source_id")]
    return [{name: getattr(row, name) for name in names} for row in rows]


def save_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or update rows keyed by (``source_id``, ``url``); every other column given is
    written."""
    if not rows:
        return
    written = [name for name in rows[0] if name not in KEY]
    upsert(session, FETCH_STATES, [dict(row) for row in rows], key=list(KEY), update=written)
