"""sanitizer version: which rules cleaned each stored article body

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every article already stored: publishing cleans those bodies again.
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sanitized_with", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN: a rebuilt articles table would take its sightings with it.
    with op.batch_alter_table("articles", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("sanitized_with")
