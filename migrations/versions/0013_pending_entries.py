"""feed entries whose page is still to be fetched, remembered on their own rows

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:30:00.000000

Before this, a poll that left an entry unfetched (the page limit, a page that failed) kept the
feed's validators and body hash unset, so the whole feed was read again every time. Now the
validators are always kept and such entries wait here, with their own retry and give-up rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, aggregator.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pending_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("feed_url", sa.String(length=2048), nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=False),
        sa.Column("guid", sa.String(length=2048), nullable=True),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _moment("first_seen_at", nullable=False),
        _moment("next_try_at", nullable=False),
        _moment("last_tried_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _moment("given_up_at"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_pending_entries_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_entries")),
        sa.UniqueConstraint("source_id", "link", name=op.f("uq_pending_entries_source_id_link")),
    )
    with op.batch_alter_table("pending_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_entries_source_id_next_try_at"),
            ["source_id", "next_try_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_entries_source_id_next_try_at"))
    op.drop_table("pending_entries")
