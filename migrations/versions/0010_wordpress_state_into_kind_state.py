"""the WordPress API's address and last check move from their own columns into kind_state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-22 09:00:00.000000

Each ``fetch_states`` row with a WordPress API check gets ``kind_state.wordpress`` =
``{"api_url": ..., "api_checked_at": ISO 8601 UTC}`` (what ``aggregator.kinds.wordpress``
reads); then the two columns go. Downgrading brings them back, filled from there.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import aggregator.storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = "wordpress"


def _states(*wordpress_columns: sa.Column[Any]) -> sa.TableClause:
    return sa.table(
        "fetch_states",
        sa.column("id", sa.Integer()),
        sa.column("kind_state", sa.JSON()),
        *wordpress_columns,
    )


def _wordpress_columns() -> tuple[sa.Column[Any], sa.Column[Any]]:
    return (
        sa.Column("wp_api_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "wp_api_checked_at", aggregator.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
    )


def upgrade() -> None:
    states = _states(*_wordpress_columns())
    connection = op.get_bind()
    checked = connection.execute(
        sa.select(
            states.c.id, states.c.kind_state, states.c.wp_api_url, states.c.wp_api_checked_at
        ).where(sa.or_(states.c.wp_api_url.is_not(None), states.c.wp_api_checked_at.is_not(None)))
    ).all()
    for row_id, kind_state, api_url, checked_at in checked:
        wordpress = {"api_url": api_url, "api_checked_at": _iso(checked_at)}
        merged = {**(kind_state or {}), KIND: wordpress}
        connection.execute(states.update().where(states.c.id == row_id).values(kind_state=merged))
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        batch_op.drop_column("wp_api_checked_at")
        batch_op.drop_column("wp_api_url")


def downgrade() -> None:
    with op.batch_alter_table("fetch_states", schema=None) as batch_op:
        for column in _wordpress_columns():
            batch_op.add_column(column)
    states = _states(*_wordpress_columns())
    connection = op.get_bind()
    for row_id, kind_state in connection.execute(sa.select(states.c.id, states.c.kind_state)).all():
        wordpress = (kind_state or {}).get(KIND)
        if not isinstance(wordpress, dict):
            continue
        rest = {key: value for key, value in kind_state.items() if key != KIND}
        connection.execute(
            states.update()
            .where(states.c.id == row_id)
            .values(
                kind_state=rest,
                wp_api_url=wordpress.get("api_url"),
                wp_api_checked_at=_moment(wordpress.get("api_checked_at")),
            )
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
