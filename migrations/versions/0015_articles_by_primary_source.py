"""an index on articles (primary_source_id, relevance)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:30:00.000000

``status`` counts each source's articles, and its published ones, and a crawl reads the URLs of
a source's articles; without an index leading with the source, each read every article's row
(behind the text's overflow pages on SQLite): 0.7 s at 100,000 articles.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_articles_primary_source_id_relevance"


def upgrade() -> None:
    op.create_index(INDEX, "articles", ["primary_source_id", "relevance"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="articles")
