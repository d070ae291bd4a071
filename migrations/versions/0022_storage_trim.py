"""SQLite: SimHash bands and block sightings in tables without rowids

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 21:00:00.000000

Both tables are narrow and keyed by their primary key. With a rowid, SQLite kept each row twice
over: once in the table (by rowid) and once in the primary key's own index. ``WITHOUT ROWID`` keeps
the rows in the primary key's tree alone, so each write touches one tree fewer and each article
takes about 150 bytes less; their other indexes now hold the primary key instead of a rowid, so
the ``(band, value)`` index answers a band probe with the article id without reading the table.
PostgreSQL has no rowid: nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("simhash_bands", "block_sightings")


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass
