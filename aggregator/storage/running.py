"""Runs left ``running`` by a process that died: telling them apart, and failing them.

A ``runs`` row is ``running`` from a crawl's start until its end. A process that writes such
rows first takes a lock of its own (``owning_runs``) and names it in each row (``runs.owner``);
the lock dies with the process (``aggregator.storage.locks``: a file lock, or a PostgreSQL advisory
lock, which holds across machines). ``fail_orphans`` fails, with the error "interrupted", every
running row whose owner's lock is free: its process was killed or lost, and no one will finish
it. Rows still owned by a live process (another crawl, a worker, the daemon) are left alone,
and so are rows from before owners were recorded, unless they are older than ``UNOWNED_AFTER``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from aggregator.runs import INTERRUPTED, RunStatus
from aggregator.storage import Database
from aggregator.storage.locks import hold_lock, is_held
from aggregator.storage.models import Run

log = logging.getLogger(__name__)
UNOWNED_AFTER = timedelta(days=1)  # a running row with no owner is given up on after this


def lock_name(owner: str) -> str:
    return f"run:{owner}"


@contextmanager
def owning_runs(database: Database) -> Iterator[str]:
    """Hold a lock naming this process for the block; yield the owner to write in its rows.

    Take it before writing a running row and keep it until the row is finished: a row seen
    running with its owner's lock free is then certainly orphaned.
    """
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with hold_lock(database, lock_name(owner), discard=True):
        yield owner


def fail_orphans(session: Session, database: Database, now: datetime | None = None) -> list[int]:
    """Fail the running rows whose process is gone, in ``session`` (a write session); their ids.

    Checking owners inside the write transaction means no owner can finish its row meanwhile.
    """
    now = now or datetime.now(UTC)
    unowned = and_(Run.owner.is_(None), Run.started_at < now - UNOWNED_AFTER)
    query = select(Run.id, Run.owner).where(
        Run.status == RunStatus.RUNNING, or_(Run.owner.is_not(None), unowned)
    )
    rows = session.execute(query).all()
    alive: dict[str, bool] = {}
    for _run_id, owner in rows:
        if owner is not None and owner not in alive:
            alive[owner] = is_held(database, lock_name(owner), discard=True)
    orphans = [run_id for run_id, owner in rows if owner is None or not alive[owner]]
    if orphans:
        session.execute(
            update(Run)
            .where(Run.id.in_(orphans), Run.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, error=INTERRUPTED, finished_at=now)
        )
        log.warning("%d run(s) left running by a process that is gone marked interrupted",
                    len(orphans))  # fmt: skip
    return orphans


def mark_interrupted(database: Database, now: datetime | None = None) -> list[int]:
    """``fail_orphans`` in a transaction of its own (for a command or the daemon starting)."""
    with database.write_session() as session:
        return fail_orphans(session, database, now)
