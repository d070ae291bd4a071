"""The full-text index's objects, which the models do not describe (migration 0018).

SQLite: ``articles_fts``, an FTS5 table over the articles' title, author and text whose content
is the articles table itself (``content='articles'``), kept in step by three triggers in the
same transaction as the write. PostgreSQL: ``articles.search_vector``, a generated ``tsvector``
(title weighted A, author B, the text's first ``VECTOR_TEXT_CHARS`` characters D) with a GIN
index. Both are schema of their engine only, so the models leave them out and the comparison of
models with migrations (``include_object``) skips them.
"""

from __future__ import annotations

from typing import Any

FTS_TABLE = "articles_fts"
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_articles_search_vector"
# The text search configuration on PostgreSQL; SQLite's ``porter`` tokenizer stems English too.
TS_CONFIG = "english"
# How much of an article's text is indexed on PostgreSQL (a tsvector holds at most 1 MB).
VECTOR_TEXT_CHARS = 100_000


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: False for the full-text objects, which only migrations create."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    return not (type_ in ("column", "index") and name in (VECTOR_COLUMN, VECTOR_INDEX))
