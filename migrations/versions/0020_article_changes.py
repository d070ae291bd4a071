"""article_changes: which articles changed, in order, for builds that rewrite only those

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 18:30:00.000000

One row per article, with a ``seq`` raised past every other whenever the article's published
pages can change: its row inserted, updated (a column its entry shows, its score or date) or
deleted, one of its sightings added, moved or removed, a curator's decision about it made or
cleared. Triggers write it in the same transaction as the change, whichever code (or hand) makes
it, a purge's cascade included. ``feed build`` keeps the highest ``seq`` it has seen in its
manifest and next reads only the rows above it (``aggregator.storage.changes``).

SQLite takes the next ``seq`` as the highest plus one (writers take turns, so it only grows);
PostgreSQL from a sequence. Every article stored before gets a row here (seq 1), so nothing
seems unchanged to a build whose manifest predates this table (such a build has no high-water
mark and plans everything anyway).

A later migration that rebuilds ``articles``, ``sightings`` or ``decisions`` on SQLite (a batch
operation) drops their triggers with them and must create them again.

The names are ``aggregator.storage.changes``'s (not imported: a migration stays as written).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "article_changes"
SEQUENCE = "article_changes_seq"
# The columns of ``articles`` that an entry, a page or a listing shows or depends on.
ARTICLE_COLUMNS = (
    "canonical_url, guid, primary_source_id, title, author, published_at, updated_at, "
    "first_seen_at, last_changed_at, text, html, sanitized_with, language, tags, content_hash, "
    "relevance, licence"
)
SIGHTING_COLUMNS = ("article_id", "source_id", "url", "first_seen_at")
MOVED_SIGHTING = "article_changes_sighting_update"
# (trigger name, event, table, the article ids it changes)
TRIGGERS = (
    ("article_changes_article_insert", "INSERT", "articles", ("new.id",)),
    ("article_changes_article_update", f"UPDATE OF {ARTICLE_COLUMNS}", "articles", ("new.id",)),
    ("article_changes_article_delete", "DELETE", "articles", ("old.id",)),
    ("article_changes_sighting_insert", "INSERT", "sightings", ("new.article_id",)),
    (
        "article_changes_sighting_update",
        f"UPDATE OF {', '.join(SIGHTING_COLUMNS)}",
        "sightings",
        ("old.article_id", "new.article_id"),
    ),
    ("article_changes_sighting_delete", "DELETE", "sightings", ("old.article_id",)),
    ("article_changes_decision_insert", "INSERT", "decisions", ("new.article_id",)),
    ("article_changes_decision_update", "UPDATE", "decisions", ("new.article_id",)),
    ("article_changes_decision_delete", "DELETE", "decisions", ("old.article_id",)),
)

FUNCTIONS = {"articles": "note_article_change", "other": "note_article_change_of_row"}
POSTGRES_NOTE = f"""
    INSERT INTO {TABLE} (article_id, seq) VALUES (changed, nextval('{SEQUENCE}'))
    ON CONFLICT (article_id) DO UPDATE SET seq = EXCLUDED.seq;
"""
# One function per key column: PL/pgSQL resolves every field a statement names.
POSTGRES_FUNCTIONS = (
    f"""
CREATE FUNCTION {FUNCTIONS["articles"]}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.id;
    ELSE
        changed := NEW.id;
    END IF;
    {POSTGRES_NOTE}
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION {FUNCTIONS["other"]}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        changed := OLD.article_id;
        {POSTGRES_NOTE}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        changed := NEW.article_id;
        {POSTGRES_NOTE}
    END IF;
    RETURN NULL;
END
$$
""",
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_changes")),
    )
    op.create_index(op.f("ix_article_changes_seq"), TABLE, ["seq"], unique=False)
    op.execute(f"INSERT INTO {TABLE} (article_id, seq) SELECT id, 1 FROM articles")
    if op.get_bind().dialect.name == "sqlite":
        for name, event, table, ids in TRIGGERS:
            notes = "".join(_sqlite_note(article_id) for article_id in ids)
            when = f"WHEN {_moved('IS NOT')} " if name == MOVED_SIGHTING else ""
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} {when}BEGIN {notes} END")
        return
    op.execute(f"CREATE SEQUENCE {SEQUENCE} START 2")
    for function in POSTGRES_FUNCTIONS:
        op.execute(function)
    for name, event, table, _ in TRIGGERS:
        function = FUNCTIONS["articles" if table == "articles" else "other"]
        when = f"WHEN ({_moved('IS DISTINCT FROM')}) " if name == MOVED_SIGHTING else ""
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} "
            f"FOR EACH ROW {when}EXECUTE FUNCTION {function}()"
        )


def _moved(differs: str) -> str:
    """A sighting's update that changes what it shows: ingest sets ``article_id`` on every
    sighting it sees again, mostly to the same value."""
    return " OR ".join(f"old.{column} {differs} new.{column}" for column in SIGHTING_COLUMNS)


def _sqlite_note(article_id: str) -> str:
    return (
        f"INSERT INTO {TABLE} (article_id, seq) VALUES ({article_id}, "
        f"(SELECT coalesce(max(seq), 0) + 1 FROM {TABLE})) "
        "ON CONFLICT (article_id) DO UPDATE SET seq = excluded.seq;"
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, _, table, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        for function in FUNCTIONS.values():
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    op.drop_index(op.f("ix_article_changes_seq"), table_name=TABLE)
    op.drop_table(TABLE)
