"""state a source kind keeps as JSON, and whether a crawl went through a source's whole backlog

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-21 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A kind of source keeps what it learns (an API address, a cursor) in one JSON document, so
    # a new kind needs no migration of its own.
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind_state", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    # NULL for the crawls already recorded: nobody knows whether they reached the end.
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complete", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("complete")
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        batch_op.drop_column("kind_state")
