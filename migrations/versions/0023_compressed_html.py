"""SQLite: the articles' sanitised HTML kept zlib-compressed

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 23:00:00.000000

SQLite never compresses: an article's HTML took as many bytes as its text, the same words twice.
The model's ``articles.html`` now writes it zlib-compressed on SQLite, a BLOB in the same TEXT
column (SQLite keeps any value in any column, so the table is not rebuilt), and reads a BLOB
decompressed and a TEXT value as it is (``aggregator.storage.types.CompressedText``). This
compresses the rows stored before, in batches of ``BATCH`` by id; a value whose compressed form
is not smaller stays text, as the model leaves it. Downgrade makes every BLOB text again, as the
code before this revision reads it.

Neither direction changes what an article says, so its ``article_changes`` trigger (migration
0020) is set aside while the rows are rewritten and created again, from its own stored SQL,
after: a build does not rewrite every article's page for it. The FTS5 triggers watch the title,
author and text only. The pages the HTML left are free pages in the file, reused by the
articles stored next (``VACUUM`` gives them back to the file system).

PostgreSQL compresses long values itself (TOAST): nothing changes there. The compression is
written out here, not imported (a migration stays as written).
"""

import zlib
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
LEVEL = 6
CHANGE_TRIGGER = "article_changes_article_update"


def upgrade() -> None:
    _rewrite("text", _compressed)


def downgrade() -> None:
    _rewrite("blob", _decompressed)


def _compressed(value: str | bytes) -> str | bytes:
    encoded = value.encode("utf-8") if isinstance(value, str) else value
    packed = zlib.compress(encoded, LEVEL)
    return packed if len(packed) < len(encoded) else value


def _decompressed(value: str | bytes) -> str | bytes:
    return zlib.decompress(value).decode("utf-8") if isinstance(value, bytes) else value


def _rewrite(stored_as: str, convert: Callable[[str | bytes], str | bytes]) -> None:
    """Every ``articles.html`` value that SQLite stores as ``stored_as`` (``typeof``), converted,
    without noting a change to any article."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    trigger = bind.execute(
        sa.text("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = :name"),
        {"name": CHANGE_TRIGGER},
    ).scalar_one_or_none()
    if trigger is not None:
        op.execute(f"DROP TRIGGER {CHANGE_TRIGGER}")
    select = sa.text(
        "SELECT id, html FROM articles WHERE id > :after AND typeof(html) = :stored_as "
        "ORDER BY id LIMIT :batch"
    )
    update = sa.text("UPDATE articles SET html = :html WHERE id = :id")
    after = 0
    while rows := bind.execute(
        select, {"after": after, "stored_as": stored_as, "batch": BATCH}
    ).all():
        changed = [
            {"id": row.id, "html": new} for row in rows if (new := convert(row.html)) != row.html
        ]
        if changed:
            bind.execute(update, changed)
        after = rows[-1].id
    if trigger is not None:
        op.execute(trigger)
