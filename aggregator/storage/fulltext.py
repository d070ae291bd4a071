"""The full-text index's objects, which the models do not describe (migration 0018), and its
upkeep on SQLite (migration 0019).

SQLite: ``articles_fts``, an FTS5 table over the articles' title, author and text whose content
is the articles table itself (``content='articles'``), kept in step by three triggers in the
same transaction as the write. PostgreSQL: ``articles.search_vector``, a generated ``tsvector``
(title weighted A, author B, the text's first ``VECTOR_TEXT_CHARS`` characters D) with a GIN
index, made with the text search configuration ``TS_CONFIG`` (migration 0021): English with
diacritics folded by the ``unaccent`` dictionary where the server has it. Both are schema of
their engine only, so the models leave them out and the comparison of models with migrations
(``include_object``) skips them (Alembic compares no text search configurations).

On SQLite each write adds a segment to the index and merges nothing (``automerge`` 0, migration
0019): merging in every write cost more as the index grew. ``merge_index`` does it afterwards, in
steps of their own transactions; FTS5 merges a level of 16 segments at once by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from aggregator.storage.database import Database

FTS_TABLE = "articles_fts"
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_articles_search_vector"
# The text search configuration on PostgreSQL, for the vector and every query alike: a copy of
# ``english`` that folds diacritics first (``unaccent``), as SQLite's ``porter unicode61
# remove_diacritics 2`` tokenizer stems English and folds them.
TS_CONFIG = "mutualaid"
# How much of an article's text is indexed on PostgreSQL (a tsvector holds at most 1 MB).
VECTOR_TEXT_CHARS = 100_000
# Pages (4 KiB) one merge step writes, in its own short write transaction.
MERGE_STEP_PAGES = 500


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: False for the full-text objects, which only migrations create."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    return not (type_ in ("column", "index") and name in (VECTOR_COLUMN, VECTOR_INDEX))


def merge_index(database: Database, max_steps: int = 1000) -> int:
    """Merge the SQLite index's segments, a step per transaction, until FTS5 finds nothing more
    to merge (levels of fewer than ``usermerge``, 4, segments) or ``max_steps``; the steps that
    did work. Nothing to do on PostgreSQL."""
    if database.engine.dialect.name != "sqlite":
        return 0
    merge = text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('merge', {MERGE_STEP_PAGES})")
    steps = 0
    while steps < max_steps:
        with database.write_session() as session:
            driver: Any = session.connection().connection.driver_connection  # sqlite3's
            before = driver.total_changes
            session.execute(merge)
            if driver.total_changes - before < 2:  # FTS5's sign that the step merged nothing
                return steps
        steps += 1
    return steps
