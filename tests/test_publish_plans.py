"""The queries behind feeds and the page read through indexes, on SQLite and PostgreSQL.

Every statement a build and the served selections run is recorded as it executes, then
explained with the same parameters. A full scan of an article-sized table, or a sort of its rows
for an ORDER BY, fails: either would make the cost follow the archive instead of
``output.items``. The tables are small, so PostgreSQL is asked with sequential scans and sorts
priced out (``enable_seqscan``/``enable_sort`` off): a scan or sort still in the plan then means
no index can serve the query. (The lead may fold the checker into a shared ``tests/plans.py``.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from aggregator.publish.select import (
    PublishPolicy,
    group_by_tag,
    load_entries,
    published_ids,
    sources_with_published,
)
from aggregator.publish.write import write_site
from aggregator.storage import Database, open_database
from tests.publish_data import NOW, Row, add_sources, insert_rows, publish_config

BIG_TABLES = ("articles", "sightings", "article_feeds", "simhash_bands", "block_sightings")
POLICY = PublishPolicy(threshold=6.0, keep_all=frozenset({"keep"}), id_domain="example.org")


def _rows() -> list[Row]:
    tags = (("Mutual aid",), ("Co-ops", "mutual-aid"), ("Housing",), ())
    return [
        Row(
            id=number,
            source_id=1 + number % 3,
            relevance=9.0 if number % 2 else 1.0,
            published_at=NOW - timedelta(hours=number % 17, minutes=number),
            tags=tags[number % 4],
            also_seen=((2, f"https://keep.example/{number}"),) if number % 5 == 0 else (),
        )
        for number in range(1, 61)
    ]


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    add_sources(database, "scored", "keep", "other")
    insert_rows(database, _rows())
    yield database
    database.close()


@contextmanager
def recorded(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT run on ``database`` inside the block, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def plan_problems(database: Database, statement: str, parameters: Any) -> list[str]:
    """What in the plan of ``statement`` reads a big table whole or sorts its rows."""
    with database.engine.connect() as connection:
        if database.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return sqlite_problems([row[3] for row in rows])
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_sort = off")
        explain = f"EXPLAIN (FORMAT JSON) {statement}"
        plan = connection.exec_driver_sql(explain, parameters).scalar_one()
        connection.rollback()
    return postgres_problems(plan if isinstance(plan, list) else json.loads(plan))


def sqlite_problems(details: list[str]) -> list[str]:
    """``SCAN big_table`` without an index, and sorts in temporary B-trees."""
    problems = []
    for detail in details:
        scan = re.match(r"SCAN (\w+)( USING (COVERING )?INDEX| USING INTEGER PRIMARY KEY)?", detail)
        if scan and scan[1] in BIG_TABLES and not scan[2]:
            problems.append(detail)
        if "TEMP B-TREE FOR ORDER BY" in detail or "TEMP B-TREE FOR RIGHT PART" in detail:
            problems.append(detail)
    return problems


def postgres_problems(plan: list[dict[str, Any]]) -> list[str]:
    problems = []
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            problems.append(f"Seq Scan on {node['Relation Name']}")
        if kind in ("Sort", "Incremental Sort"):
            problems.append(f"{kind} by {node.get('Sort Key')}")
        if "hashed SubPlan" in node.get("Filter", ""):  # reads the whole subquery first
            problems.append(f"hashed subplan in {node['Filter']}")
        nodes += node.get("Plans", [])
    return problems


def test_the_checker_catches_a_full_scan_and_a_sort(database: Database) -> None:
    unindexed = "SELECT id FROM articles WHERE title = 'x' ORDER BY word_count DESC"
    assert plan_problems(database, unindexed, ())
    dialect = database.engine.dialect.name
    by_id = "SELECT title FROM articles WHERE id = " + ("?" if dialect == "sqlite" else "%s")
    assert plan_problems(database, by_id, (1,)) == []


def test_every_selection_reads_through_an_index(database: Database) -> None:
    with recorded(database) as statements, database.session() as session:
        assert published_ids(session, POLICY, 5)
        assert published_ids(session, POLICY, 5, source="scored")
        assert published_ids(session, POLICY, 5, source="keep")
        assert published_ids(session, POLICY, 5, tag="mutual-aid")
        assert published_ids(session, POLICY, 5, source="other", tag="housing")
        assert group_by_tag(session, POLICY, 5)
        assert sources_with_published(session, POLICY)
        assert load_entries(session, POLICY, [1, 2, 3])
    _assert_indexed(database, statements)


def test_a_build_reads_through_indexes(database: Database, tmp_path: Path) -> None:
    sources = {
        "scored": {"homepage": "https://scored.example/"},
        "keep": {"homepage": "https://keep.example/", "relevance": "keep_all"},
        "other": {"homepage": "https://other.example/"},
    }
    config = publish_config(tmp_path, database.url, sources, items=5)
    with recorded(database) as statements:
        report = write_site(database, config)
    assert report.written
    _assert_indexed(database, statements)


def _assert_indexed(database: Database, statements: list[tuple[str, Any]]) -> None:
    assert statements
    found = {
        statement: problems
        for statement, parameters in statements
        if (problems := plan_problems(database, statement, parameters))
    }
    assert found == {}
