"""feed poller state: redirects, body hash, ttl, WordPress API

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 08:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_to", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("redirect_to", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column("redirect_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ttl_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("wp_api_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column(
                "wp_api_checked_at",
                aggregator.storage.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        batch_op.drop_column("wp_api_checked_at")
        batch_op.drop_column("wp_api_url")
        batch_op.drop_column("ttl_seconds")
        batch_op.drop_column("body_hash")
        batch_op.drop_column("redirect_count")
        batch_op.drop_column("redirect_to")
        batch_op.drop_column("moved_to")
