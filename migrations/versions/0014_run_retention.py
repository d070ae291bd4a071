"""runs kept bounded: an index for status's lookups by kind and status, and run_totals

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.storage.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("runs", "ok_runs", "failed_runs", "fetched", "new", "updated", "unchanged", "failed")


def upgrade() -> None:
    # Creating the index reads the runs table once (seconds at millions of rows); nothing else
    # changes the rows already stored: retention folds them into run_totals when it runs.
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_runs_source_id_kind_status_started_at"),
            ["source_id", "kind", "status", "started_at"],
            unique=False,
        )
    op.create_table(
        "run_totals",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column(
            "first_started_at", aggregator.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_started_at", aggregator.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_run_totals_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "kind", name=op.f("pk_run_totals")),
    )


def downgrade() -> None:
    # The folded totals go with the table: the runs they stood for were already deleted.
    op.drop_table("run_totals")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_source_id_kind_status_started_at"))
