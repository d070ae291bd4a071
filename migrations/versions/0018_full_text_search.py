"""full-text search over the articles' title, author and text

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-07 15:00:00.000000

SQLite: an FTS5 table whose content is the articles table (nothing stored twice but the
index), kept in step by triggers, so every write that changes an article changes the index in
the same transaction; filled from the existing rows here. The tokenizer folds case and
diacritics (unicode61 remove_diacritics 2) and stems English (porter), so "unions" finds
"union". bm25 ranks a title match ten times, an author's twice, a match in the text.

PostgreSQL: a generated tsvector column (title A, author B, text D; English stemming, like
SQLite's porter) with a GIN index; ``ts_rank_cd`` weighs A above D.

The names are ``aggregator.storage.fulltext``'s (not imported: a migration stays as written).
A later migration that rebuilds the articles table on SQLite (a batch operation) drops the
triggers with it and must create them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "articles_fts"
TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = "title, author, text"
VECTOR_TEXT_CHARS = 100_000
VECTOR = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(author, '')), 'B') || "
    f"setweight(to_tsvector('english', left(text, {VECTOR_TEXT_CHARS})), 'D')"
)

SQLITE_UP = [
    f"INSERT INTO {FTS}({FTS}, rank) VALUES ('rank', 'bm25(10.0, 2.0, 1.0)')",
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON articles BEGIN
        INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES (new.id, new.title, new.author, new.text);
    END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON articles BEGIN
        INSERT INTO {FTS}({FTS}, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.title, old.author, old.text);
    END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF id, title, author, text ON articles BEGIN
        INSERT INTO {FTS}({FTS}, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.title, old.author, old.text);
        INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES (new.id, new.title, new.author, new.text);
    END""",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _create_fts5()
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    op.execute(
        f"ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) "
        "STORED"
    )
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")


def _create_fts5() -> None:
    """The FTS5 table; a SQLite built without FTS5 stops the upgrade with the reason."""
    try:
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5({COLUMNS}, content='articles', "
            f"content_rowid='id', tokenize='{TOKENIZE}')"
        )
    except sa.exc.OperationalError as exc:
        raise CommandError(
            f"this SQLite cannot create the search index ({exc.orig}): "
            "mutualaid needs SQLite with FTS5 (standard in Python's own builds)"
        ) from None
