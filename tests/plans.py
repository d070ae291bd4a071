"""Query plans for tests: record the SQL a piece of code sends, and find what in its plans would
make the cost follow the archive.

``captured_statements`` records what one session's engine, one engine or every engine sends;
``plan_problems`` asks the database how it would run one statement (``EXPLAIN QUERY PLAN`` on
SQLite, ``EXPLAIN (FORMAT JSON)`` on PostgreSQL) and names every step that reads a whole large
table or a whole index of one, and on request what must read all its input before its first
row (a sort, a hashed subplan); ``assert_no_table_scan(s)`` fail on any. A covering-index scan
still reads every entry, so on SQLite only ``SEARCH`` counts as a lookup (a table is also known
by the alias a statement gives it: SQLite's plan shows the alias), and on PostgreSQL an index
scan without an index condition (plain, index-only, or feeding a bitmap) counts as a scan.

PostgreSQL weighs table sizes: on a test's tiny tables it rightly reads a table whole. Where a
test's tables are small, ``price_out`` turns sequential scans and sorts off for the plan, so a
scan or sort still in it means no index can serve the statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

# The tables that grow with the archive.
LARGE_TABLES = ("articles", "sightings", "article_feeds", "simhash_bands", "block_sightings")
_EXPLAINED = {"SELECT", "UPDATE", "DELETE", "WITH"}
_PRICED_OUT = ("enable_seqscan", "enable_sort")


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any  # as the driver got them: a tuple (SQLite) or a dict (psycopg)


@contextmanager
def captured_statements(source: Session | Engine | None = None) -> Iterator[list[Statement]]:
    """Every SELECT, UPDATE and DELETE sent while the block runs (one parameter set of each
    executemany): by ``source``'s engine, or by every engine when ``source`` is None (code that
    opens its own, such as a command run in-process)."""
    target: Any = Engine if source is None else source
    if isinstance(source, Session):
        target = source.get_bind()
    seen: list[Statement] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().split(None, 1)[0].upper() in _EXPLAINED:
            seen.append(Statement(sql, params[0] if many else params))

    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)


def plan_problems(
    on: Session | Connection,
    sql: str,
    params: Any,
    tables: Sequence[str] = LARGE_TABLES,
    *,
    sorts: bool = False,
    price_out: bool = False,
) -> list[str]:
    """The plan steps of ``sql`` that read all of one of ``tables``, one readable line each;
    empty when there are none.

    ``sorts`` adds the steps that read all their input before their first row, which defeat an
    ordered index walk that stops at a LIMIT: a sort for an ORDER BY (SQLite's temporary
    B-tree; PostgreSQL's Sort node, of any table) and a PostgreSQL hashed subplan.

    ``price_out`` plans with sequential scans and sorts off (PostgreSQL; SQLite ignores it).
    The plan is made on ``on``'s connection, inside its transaction (rows it wrote count)."""
    connection = on.connection() if isinstance(on, Session) else on
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        names = _names_in(sql, tables)
        return [row[-1] for row in rows if _sqlite_problem(row[-1], names, sorts)]
    plan = _postgres_plan(connection, sql, params, price_out)
    return [problem for node in _nodes(plan) for problem in _postgres_problems(node, tables, sorts)]


class Checks(TypedDict, total=False):
    """``plan_problems``'s options, for the assertions that pass them on."""

    tables: Sequence[str]
    sorts: bool
    price_out: bool


def assert_no_table_scan(
    on: Session | Connection, sql: str, params: Any, **checks: Unpack[Checks]
) -> None:
    """Fail, showing the statement and the plan steps, when ``plan_problems`` finds any."""
    assert_no_table_scans(on, [Statement(sql, params)], **checks)


def assert_no_table_scans(
    on: Session | Connection, statements: Sequence[Statement], **checks: Unpack[Checks]
) -> None:
    """Fail once, showing every statement and its plan steps, when ``plan_problems`` finds any
    in ``statements``."""
    found = [
        f"{'; '.join(problems)} in: {shorten(statement.sql)}"
        for statement in statements
        if (problems := plan_problems(on, statement.sql, statement.params, **checks))
    ]
    assert not found, "plan problems:\n" + "\n".join(found)


def naming(statements: Sequence[Statement], *tables: str) -> list[Statement]:
    """The statements that name one of ``tables``."""
    pattern = re.compile(rf"\b({'|'.join(map(re.escape, tables))})\b")
    return [statement for statement in statements if pattern.search(statement.sql)]


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


def _names_in(sql: str, tables: Sequence[str]) -> set[str]:
    """``tables`` and the aliases ``sql`` gives them: SQLite's plan names a table by its alias."""
    names = set(tables)
    for table in tables:
        names.update(re.findall(rf'\b{table}"?\s+AS\s+"?(\w+)', sql, flags=re.IGNORECASE))
    return names


def _sqlite_problem(detail: str, names: set[str], sorts: bool) -> bool:
    words = detail.split()
    if len(words) >= 2 and words[0] == "SCAN" and words[1] in names:
        return True
    return sorts and "TEMP B-TREE FOR" in detail and "ORDER BY" in detail


def _postgres_plan(connection: Connection, sql: str, params: Any, price_out: bool) -> Any:
    """The JSON plan's root node; with ``price_out``, planned with scans and sorts off for this
    statement only (``SET LOCAL`` there and back: an error rolls the settings back with it)."""
    if not price_out:
        return connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()
    before = {name: connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in _PRICED_OUT}
    for name in _PRICED_OUT:
        connection.exec_driver_sql(f"SET LOCAL {name} = off")
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()
    for name, value in before.items():
        connection.exec_driver_sql(f"SET LOCAL {name} = {value}")
    return plan


def _nodes(plan: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        yield node
        nodes.extend(node.get("Plans", ()))


def _unbounded(node: dict[str, Any]) -> bool:
    """An index scan without an index condition: it reads the whole index."""
    kinds = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
    return node["Node Type"] in kinds and "Index Cond" not in node


def _postgres_problems(node: dict[str, Any], tables: Sequence[str], sorts: bool) -> Iterator[str]:
    kind = node["Node Type"]
    if node.get("Relation Name") in tables:
        whole = [node] if kind == "Seq Scan" or _unbounded(node) else []
        if kind == "Bitmap Heap Scan":  # its bitmap's index scans, under any BitmapAnd/Or
            whole = [child for child in _nodes([{"Plan": node}]) if _unbounded(child)]
        for step in whole:
            index = f" using {step['Index Name']}" if "Index Name" in step else ""
            yield f"{step['Node Type']} on {node['Relation Name']}{index}"
    if sorts and kind in {"Sort", "Incremental Sort"}:
        yield f"{kind} by {', '.join(node.get('Sort Key', ()))}"
    if sorts and "hashed SubPlan" in node.get("Filter", ""):
        yield f"hashed subplan in {node['Filter']}"
