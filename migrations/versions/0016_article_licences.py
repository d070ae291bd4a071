"""article licences: what each article's page declares

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:00:00.000000

Null for the articles stored before it: they are filled when their page is extracted again, and
under ``republish: auto`` an article without a known licence is published as an excerpt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("licence", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("licence_declared", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), never a rebuilt table: with foreign
    # keys on, dropping the old articles table would delete every sighting and feed row.
    with op.batch_alter_table("articles", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("licence_declared")
        batch_op.drop_column("licence")
