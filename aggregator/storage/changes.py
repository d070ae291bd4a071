"""Which articles changed since a build: the ``article_changes`` rows (migration 0020).

Triggers on ``articles``, ``sightings`` and ``decisions`` give an article's row a ``seq`` above
every other whenever its published pages can change (its deletion included). A build records
the highest ``seq`` it has seen (``settled_mark``) and next reads only the articles above it
(``changed_since``), by the ``seq`` index: the cost follows what changed, not the archive.

The mark must not pass a change still uncommitted, or that change would fall below the next
build's mark unseen. On SQLite writers take turns, and a ``seq`` is the highest committed plus
one, so the highest committed is settled. On PostgreSQL a sequence hands out numbers in
concurrent transactions that commit in any order: ``settled_mark`` waits (briefly) for the
transactions writing the table to end (a SHARE lock, released at once), after which every
number below the highest is committed or rolled back. A role that may not lock the table
(only ``SELECT``: the lock ``SHARE`` needs more) reads the mark without it (``_quiet_mark``).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from aggregator.storage.database import Database
from aggregator.storage.models import Article, ArticleChange

log = logging.getLogger(__name__)

TABLE = "article_changes"
# How long a build waits for writers of the table before it settles for the last mark.
LOCK_TIMEOUT = "2s"
# Rows of ``article_changes`` one pruning transaction looks at (by the ``seq`` index).
PRUNE_WINDOW = 2000
_NOT_ALLOWED = "42501"  # insufficient_privilege
# In one statement, so under one snapshot: the highest ``seq`` it shows, and whether any
# transaction it counts as running may hold a ``seq`` below that, uncommitted. Such a
# transaction wrote the table (then it holds a lock on it until it ends), or it has ended since
# the snapshot (the lock table is read after it), and then nothing says what it wrote.
_QUIET_MARK = """
WITH snapshot AS MATERIALIZED (SELECT pg_current_snapshot() AS taken),
highest AS MATERIALIZED (SELECT coalesce(max(seq), 0) AS mark FROM article_changes),
running AS MATERIALIZED (
    SELECT xid(x) AS id FROM snapshot, pg_snapshot_xip(snapshot.taken) AS x
),
locks AS MATERIALIZED (
    SELECT locktype, database, relation, transactionid, virtualtransaction, mode FROM pg_locks
),
writers AS MATERIALIZED (
    SELECT virtualtransaction FROM locks
    WHERE locktype = 'relation' AND relation = 'article_changes'::regclass
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND mode <> 'AccessShareLock'
)
SELECT (SELECT mark FROM highest), EXISTS (
    SELECT 1 FROM running WHERE NOT EXISTS (
        SELECT 1 FROM locks
        WHERE locktype = 'transactionid' AND transactionid = running.id
          AND virtualtransaction NOT IN (SELECT virtualtransaction FROM writers)
    )
)
"""


def settled_mark(database: Database) -> int | None:
    """The highest ``seq`` at or below which every change is committed; None when writers
    kept the table too long (PostgreSQL), and the caller keeps its last mark."""
    if database.engine.dialect.name != "postgresql":
        with database.session() as session:
            return _highest(session)
    try:
        with database.session() as session:
            session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            session.execute(text(f"LOCK TABLE {TABLE} IN SHARE MODE"))
            return _highest(session)
    except OperationalError as exc:
        log.warning("article changes still being written (%s); keeping the last mark", exc.orig)
        return None
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != _NOT_ALLOWED:
            raise
    mark = _quiet_mark(database)
    log.warning(
        "this role may not lock %s; the mark was read without the lock (%s)",
        TABLE,
        "settled" if mark is not None else "writers busy: keeping the last mark",
    )
    return mark


def _quiet_mark(database: Database) -> int | None:
    """The highest ``seq`` when no transaction can still commit one below it, else None.

    Without the lock, the highest committed ``seq`` is not settled: a writer that took a lower
    number may commit after this read, and its change would then fall below the next build's
    mark unseen. Nor is a whole plan any safer, since it too records a mark. So this takes the
    highest ``seq`` a snapshot shows only when every transaction that snapshot counts as
    running is still running and has not written the table (it would hold a lock on it until
    it ends): whatever such a transaction writes later takes a number above every one handed
    out so far. Otherwise (a writer busy, or a transaction that ended meanwhile) it returns
    None: the build keeps its last mark and plans those articles again next time, which costs
    time, never a change.
    """
    with database.session() as session:
        mark, unsettled = session.execute(text(_QUIET_MARK)).one()
    return None if unsettled else int(mark)


def changed_since(session: Session, mark: int) -> list[int]:
    """The articles whose pages may have changed since ``mark`` (deleted ones included)."""
    query = select(ArticleChange.article_id).where(ArticleChange.seq > mark)
    return sorted(session.scalars(query))


def prune_gone(database: Database, built: int) -> int:
    """Delete the rows of articles no longer stored (purged) that the last build, at mark
    ``built``, has seen; return how many.

    Nothing reads them again: a build of changes reads the rows above its mark (and ``built``
    is the last one's), and a whole plan reads none. The row with the highest ``seq`` stays
    whatever it is: on SQLite the next ``seq`` is the highest plus one, and a highest that fell
    back would number new changes at or below ``built``, where the next build would not look
    (it would also take a database whose marks fell for one restored from a backup).

    It walks the ``seq`` index ``PRUNE_WINDOW`` rows at a time, each window in a write
    transaction of its own, and looks each article up by its key.
    """
    pruned, after = 0, 0
    while True:
        with database.write_session() as session:
            bound = min(built, _highest(session) - 1)
            window = (
                select(ArticleChange.seq, ArticleChange.article_id)
                .where(ArticleChange.seq > after, ArticleChange.seq <= bound)
                .order_by(ArticleChange.seq)
                .limit(PRUNE_WINDOW)
                .subquery()
            )
            rows = session.execute(
                select(window.c.seq, window.c.article_id, Article.id).outerjoin(
                    Article, Article.id == window.c.article_id
                )
            ).all()
            if not rows:
                return pruned
            gone = [row.article_id for row in rows if row.id is None]
            if gone:
                result = session.execute(
                    delete(ArticleChange).where(
                        ArticleChange.article_id.in_(gone), ArticleChange.seq <= bound
                    )
                )
                pruned += int(getattr(result, "rowcount", 0) or 0)
            after = max(row.seq for row in rows)


def _highest(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ArticleChange.seq), 0))) or 0)
