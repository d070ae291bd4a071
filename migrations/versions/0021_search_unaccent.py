"""search on PostgreSQL folds diacritics (the unaccent dictionary), as SQLite's FTS5 does

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 20:30:00.000000

PostgreSQL only (SQLite's tokenizer already folds them, migration 0018). A text search
configuration of our own, ``mutualaid``, a copy of ``english`` whose mappings of words with
letters beyond ASCII (``word``, ``hword``, ``hword_part``) go through the ``unaccent``
dictionary before ``english_stem``, so ``reclus`` finds ``Réclus`` and ``Réclus`` finds
``reclus``. The generated ``articles.search_vector`` is built again with it (the whole table
is read once), and every search names the same configuration (``storage.fulltext.TS_CONFIG``).

``unaccent`` is an extension (trusted since PostgreSQL 13: a role that may create objects in
the database may create it). An extension already there is used wherever it lives; otherwise
it is created in a savepoint, and a server without it, or a role that may not create it, still
migrates: ``mutualaid`` is then plain ``english`` (diacritics kept, as before), said with a
warning. The README (Search) says how to add the dictionary later: the extension, the mapping
above, and every row updated so that its stored vector is computed again.

Downgrade restores the ``english`` column and drops the configuration; the extension stays,
since something else may use it.

The names are ``aggregator.storage.fulltext``'s (not imported: a migration stays as written).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("aggregator.storage.migrate")

CONFIG = "mutualaid"
COLUMN = "search_vector"
INDEX = "ix_articles_search_vector"
# The token types whose text can hold letters beyond ASCII (the ascii* ones cannot).
ACCENTED_TOKENS = "word, hword, hword_part"
VECTOR_TEXT_CHARS = 100_000


def _vector(config: str) -> str:
    return (
        f"setweight(to_tsvector('{config}', coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector('{config}', coalesce(author, '')), 'B') || "
        f"setweight(to_tsvector('{config}', left(text, {VECTOR_TEXT_CHARS})), 'D')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _unaccent_schema()
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.english)")
    if schema is not None and _words_through_unaccent(schema):
        log.info("search folds diacritics (unaccent, schema %s)", schema)
    else:
        log.warning(
            "the unaccent extension is not available to this role or server, so search keeps "
            "diacritics (reclus will not find Réclus); README.md, Search, says how to add it later"
        )
    _rebuild_column(CONFIG)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild_column("english")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")


def _unaccent_schema() -> str | None:
    """The schema of the ``unaccent`` extension, created here when it is not yet; None when
    this server or role cannot have it."""
    bind = op.get_bind()
    installed = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    )
    schema = bind.execute(installed).scalar_one_or_none()
    if schema is not None:
        return str(schema)
    try:
        with bind.begin_nested():  # a failure rolls back to here, not the whole upgrade
            bind.execute(sa.text("CREATE EXTENSION unaccent"))
    except sa.exc.DBAPIError as exc:
        log.info("cannot create the unaccent extension: %s", exc.orig)
        return None
    return str(bind.execute(installed).scalar_one())


def _words_through_unaccent(schema: str) -> bool:
    """Map the accented token types through unaccent, then the stemmer; False when this role
    may not use the dictionary (an extension in a schema it cannot reach)."""
    try:
        with op.get_bind().begin_nested():
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {ACCENTED_TOKENS} "
                f'WITH "{schema}".unaccent, english_stem'
            )
    except sa.exc.DBAPIError as exc:
        log.info("cannot map words through unaccent: %s", exc.orig)
        return False
    return True


def _rebuild_column(config: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"ALTER TABLE articles DROP COLUMN IF EXISTS {COLUMN}")
    op.execute(
        f"ALTER TABLE articles ADD COLUMN {COLUMN} tsvector GENERATED ALWAYS AS "
        f"({_vector(config)}) STORED"
    )
    op.execute(f"CREATE INDEX {INDEX} ON articles USING gin ({COLUMN})")
