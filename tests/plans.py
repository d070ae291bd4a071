"""Query plans for tests: capture the SQL a piece of code issues, and find table scans in it.

``captured_statements`` records what a session sends to the driver; ``table_scans`` asks the
database how it would run one statement (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (FORMAT
JSON)`` on PostgreSQL) and names every step that reads a whole large table or a whole index of
one; ``assert_no_table_scan`` fails on any. A covering-index scan still reads every entry, so on
SQLite only ``SEARCH`` counts as a lookup, and on PostgreSQL an index scan without an index
condition counts as a scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

# The tables that grow with the archive.
LARGE_TABLES = ("articles", "sightings", "simhash_bands", "block_sightings")


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any  # as the driver got them: a tuple (SQLite) or a dict (psycopg)


@contextmanager
def captured_statements(session: Session) -> Iterator[list[Statement]]:
    """Every SELECT, UPDATE and DELETE ``session`` sends while the block runs (one parameter
    set of each executemany)."""
    engine = session.get_bind()
    seen: list[Statement] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().split(None, 1)[0].upper() in {"SELECT", "UPDATE", "DELETE", "WITH"}:
            seen.append(Statement(sql, params[0] if many else params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def table_scans(
    session: Session, sql: str, params: Any, tables: Sequence[str] = LARGE_TABLES
) -> list[str]:
    """The plan steps of ``sql`` that read all of one of ``tables`` (empty when none do)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        return [row[-1] for row in rows if _sqlite_scan(row[-1], tables)]
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()
    return [_describe(node) for node in _nodes(plan[0]["Plan"]) if _postgres_scan(node, tables)]


def assert_no_table_scan(
    session: Session, sql: str, params: Any, tables: Sequence[str] = LARGE_TABLES
) -> None:
    """Fail, showing the statement and the plan step, when ``sql`` scans one of ``tables``."""
    scans = table_scans(session, sql, params, tables)
    assert not scans, f"{'; '.join(scans)} in: {shorten(sql)}"


def assert_no_table_scans(
    session: Session, statements: Sequence[Statement], tables: Sequence[str] = LARGE_TABLES
) -> None:
    """``assert_no_table_scan`` over several statements, failing once with every scan found."""
    found = [
        f"{'; '.join(scans)} in: {shorten(statement.sql)}"
        for statement in statements
        if (scans := table_scans(session, statement.sql, statement.params, tables))
    ]
    assert not found, "table scans:\n" + "\n".join(found)


def shorten(sql: str, limit: int = 400) -> str:
    """``sql`` on one line, runs of placeholders folded, cut at ``limit`` characters."""
    flat = re.sub(r"(\(\?, \?\), )+", "(?, ?), ..., ", " ".join(sql.split()))
    flat = re.sub(r"(\?, )+", "?, ..., ", flat)
    flat = re.sub(r"(%\(\w+\)s(::\w+)?, )+", "%(...)s, ..., ", flat)
    return flat if len(flat) <= limit else f"{flat[:limit]}..."


def plan_lines(session: Session, sql: str, params: Any) -> list[str]:
    """The plan of ``sql`` as text, one step a line (for reports and failure messages)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        return [row[-1] for row in rows]
    return [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}", params)]


def _sqlite_scan(detail: str, tables: Sequence[str]) -> bool:
    words = detail.split()
    return len(words) >= 2 and words[0] == "SCAN" and words[1] in tables


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _postgres_scan(node: dict[str, Any], tables: Sequence[str]) -> bool:
    if node.get("Relation Name") not in tables:
        return False
    kind = node["Node Type"]
    if kind == "Seq Scan":
        return True
    return kind in {"Index Scan", "Index Only Scan"} and "Index Cond" not in node


def _describe(node: dict[str, Any]) -> str:
    index = f" using {node['Index Name']}" if "Index Name" in node else ""
    return f"{node['Node Type']} on {node['Relation Name']}{index}"
