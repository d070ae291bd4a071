"""decisions: a curator's publish, hold or pin per article; its copy in article_feeds

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:00:00.000000

A ``decisions`` row overrides an article's score both ways (``aggregator.storage.decisions``).
The feeds walk ``article_feeds`` alone, so each row there carries the article's decision too,
and the walk's index gains it at its end: a walk still never reads a row it does not publish.
No article has a decision yet, so nothing is filled in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aggregator.storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_WALK = "ix_article_feeds_kind_key_published_at_article_id_relevance"
NEW_WALK = "ix_article_feeds_walk"  # the convention's name would pass 63 characters
WALK = ["kind", "key", "published_at", "article_id", "relevance"]


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column(
            "decided_at", aggregator.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "decision IN ('publish', 'hold', 'pin')", name=op.f("ck_decisions_decision")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_decisions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_decisions")),
    )
    op.add_column("article_feeds", sa.Column("decision", sa.String(length=8), nullable=True))
    op.drop_index(OLD_WALK, table_name="article_feeds")
    op.create_index(NEW_WALK, "article_feeds", [*WALK, "decision"], unique=False)


def downgrade() -> None:
    op.drop_index(NEW_WALK, table_name="article_feeds")
    with op.batch_alter_table("article_feeds") as batch:
        batch.drop_column("decision")
    op.create_index(OLD_WALK, "article_feeds", WALK, unique=False)
    op.drop_table("decisions")
