"""Dialect-aware INSERT ... ON CONFLICT, so writers never race a read-then-insert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite the ``update`` columns."""
    if not rows:
        return
    statement = _insert_for(session, table)
    excluded = statement.excluded
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    session.execute(statement, list(rows))


def _insert_for(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    # Each dialect's module is imported when used: PostgreSQL's costs ~20 ms at start-up.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        insert: Insert = postgresql.insert(table)
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        insert = sqlite.insert(table)
    else:
        raise NotImplementedError(f"upsert is not supported on {dialect}")
    return insert
