"""extraction notes per article, and how each sighting was matched to its article

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty notes and an unknown match for what was stored before: nothing was recorded then.
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extraction", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matched_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN: a rebuilt articles table would take its sightings with it.
    with op.batch_alter_table("sightings", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("matched_by")
    with op.batch_alter_table("articles", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("extraction")
