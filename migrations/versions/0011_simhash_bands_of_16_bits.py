"""SimHash bands of 16 bits, probed with their one-bit neighbours; the (id, simhash) index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:30:00.000000

A near-duplicate lookup used to read every article sharing one of 7 bands of 9-10 bits with the
new one (1.3% of the archive per lookup); 4 bands of 16 bits, each looked up with its one-bit
neighbours, read 0.1% (``aggregator.fingerprints``). Every article's band rows are rewritten
from ``articles.simhash``, a thousand articles at a time. ``ix_articles_simhash`` (no query
searched by SimHash) gives way to ``(id, simhash)``, which lets the lookup check a suspect's
distance without reading its row. Downgrading restores the 7 bands and the old index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
BANDS_BEFORE = 7
BANDS_AFTER = 4

_articles = sa.table(
    "articles", sa.column("id", sa.Integer()), sa.column("simhash", sa.BigInteger())
)
_bands = sa.table(
    "simhash_bands",
    sa.column("article_id", sa.Integer()),
    sa.column("band", sa.Integer()),
    sa.column("value", sa.Integer()),
)


def bands_of(value: int, bands: int) -> tuple[int, ...]:
    """The 64 bits cut into ``bands`` parts, most significant first, widths differing by one at
    most (a copy of ``aggregator.fingerprints.simhash_bands`` as of this revision)."""
    unsigned = value & ((1 << 64) - 1)
    width, wider = divmod(64, bands)
    parts = []
    shift = 64
    for index in range(bands):
        size = width + (index < wider)
        shift -= size
        parts.append((unsigned >> shift) & ((1 << size) - 1))
    return tuple(parts)


def rewrite_bands(bands: int) -> None:
    """Replace every article's band rows with ``bands`` bands of its SimHash, in batches."""
    connection = op.get_bind()
    connection.execute(_bands.delete())
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_articles.c.id, _articles.c.simhash)
            .where(_articles.c.id > last, _articles.c.simhash.is_not(None))
            .order_by(_articles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            _bands.insert(),
            [
                {"article_id": article_id, "band": band, "value": value}
                for article_id, simhash in rows
                for band, value in enumerate(bands_of(simhash, bands))
            ],
        )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_simhash"))
        batch_op.create_index("ix_articles_id_simhash", ["id", "simhash"], unique=False)
    rewrite_bands(BANDS_AFTER)


def downgrade() -> None:
    rewrite_bands(BANDS_BEFORE)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_id_simhash")
        batch_op.create_index(batch_op.f("ix_articles_simhash"), ["simhash"], unique=False)
