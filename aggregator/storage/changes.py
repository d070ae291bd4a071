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
number below the highest is committed or rolled back.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from aggregator.storage.database import Database
from aggregator.storage.models import ArticleChange

log = logging.getLogger(__name__)

TABLE = "article_changes"
# How long a build waits for writers of the table before it settles for the last mark.
LOCK_TIMEOUT = "2s"


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


def changed_since(session: Session, mark: int) -> list[int]:
    """The articles whose pages may have changed since ``mark`` (deleted ones included)."""
    query = select(ArticleChange.article_id).where(ArticleChange.seq > mark)
    return sorted(session.scalars(query))


def _highest(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ArticleChange.seq), 0))) or 0)
