"""article_feeds: the per-source and per-tag feeds of each article; the published-order index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000

``article_feeds`` holds one row per source an article was seen at and per tag slug it carries,
with its ``published_at`` and ``relevance``, so that a source's or a tag's newest published
articles are one index walk (``aggregator.storage.article_feeds``). Upgrading fills it from the
articles already stored. The articles index on ``published_at`` becomes
``(published_at, id, relevance)``: the order the feeds read, with the score beside it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import aggregator.storage.types
from aggregator.storage import article_feeds

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_feeds",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column(
            "published_at", aggregator.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("relevance", sa.Float(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_feeds_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "key", "article_id", name=op.f("pk_article_feeds")),
    )
    op.create_index(
        op.f("ix_article_feeds_article_id"), "article_feeds", ["article_id"], unique=False
    )
    op.create_index(
        op.f("ix_article_feeds_kind_key_published_at_article_id_relevance"),
        "article_feeds",
        ["kind", "key", "published_at", "article_id", "relevance"],
        unique=False,
    )
    op.drop_index(op.f("ix_articles_published_at"), table_name="articles")
    op.create_index(
        op.f("ix_articles_published_at_id_relevance"),
        "articles",
        ["published_at", "id", "relevance"],
        unique=False,
    )
    bind = op.get_bind()
    article_feeds.fill_all(Session(bind=bind), decided=False)  # no decisions before 0017
    if bind.dialect.name == "postgresql":
        # Statistics now, not at autovacuum's next turn: without them the planner reads a
        # whole source's rows for each feed of the first builds.
        op.execute("ANALYZE article_feeds")


def downgrade() -> None:
    op.drop_index(op.f("ix_articles_published_at_id_relevance"), table_name="articles")
    op.create_index(op.f("ix_articles_published_at"), "articles", ["published_at"], unique=False)
    op.drop_index(
        op.f("ix_article_feeds_kind_key_published_at_article_id_relevance"),
        table_name="article_feeds",
    )
    op.drop_index(op.f("ix_article_feeds_article_id"), table_name="article_feeds")
    op.drop_table("article_feeds")
