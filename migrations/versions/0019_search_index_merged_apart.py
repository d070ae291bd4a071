"""SQLite: the full-text index merges its segments in maintenance, not in each write

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 19:00:00.000000

FTS5 merges an index's segments a little after every write by default (``automerge`` 4), and
those merges grow with the index: at 100k articles they were a third of the time of storing
1,000 new ones. With ``automerge`` 0 a write only adds its own segment; the daemon merges them
after a rebuild (``aggregator.storage.fulltext.merge_index``), and FTS5 still merges a level at
once when it reaches ``crisismerge`` (16) segments, so their number stays bounded without it.
PostgreSQL's GIN index has its own pending list: nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "articles_fts"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO {FTS}({FTS}, rank) VALUES ('automerge', 0)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO {FTS}({FTS}, rank) VALUES ('automerge', 4)")
