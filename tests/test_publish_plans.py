"""The queries behind feeds and the page read through indexes, on SQLite and PostgreSQL.

Every statement a build and the served selections run is recorded as it executes, then
explained with the same parameters. A full scan of an article-sized table, or a sort of its rows
for an ORDER BY, fails: either would make the cost follow the archive instead of
``output.items``. The tables are small, so PostgreSQL is asked with sequential scans and sorts
priced out (``enable_seqscan``/``enable_sort`` off): a scan or sort still in the plan then means
no index can serve the query. The checker is ``tests/plans.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aggregator.publish.select import (
    PublishPolicy,
    change_marks,
    group_by_tag,
    load_entries,
    published_ids,
    sources_with_published,
)
from aggregator.publish.write import write_site
from aggregator.storage import Database, open_database, published
from tests.plans import Statement, assert_no_table_scans, captured_statements, plan_problems
from tests.publish_data import NOW, Row, add_sources, insert_rows, publish_config

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


def test_the_checker_catches_a_full_scan_and_a_sort(database: Database) -> None:
    unindexed = "SELECT id FROM articles WHERE title = 'x' ORDER BY word_count DESC"
    sqlite = database.engine.dialect.name == "sqlite"
    by_id = "SELECT title FROM articles WHERE id = " + ("?" if sqlite else "%s")
    in_order = "SELECT id FROM sources ORDER BY homepage"
    with database.session() as session:
        assert len(_problems(session, unindexed, ())) == 2  # the scan and the sort
        assert _problems(session, in_order, ())  # a sort, even of a small table's rows
        assert _problems(session, by_id, (1,)) == []


def test_every_selection_reads_through_an_index(database: Database) -> None:
    with database.session() as session, captured_statements(session) as statements:
        assert published_ids(session, POLICY, 5)
        assert published_ids(session, POLICY, 5, source="scored")
        assert published_ids(session, POLICY, 5, source="keep")
        assert published_ids(session, POLICY, 5, tag="mutual-aid")
        assert published_ids(session, POLICY, 5, source="other", tag="housing")
        assert group_by_tag(session, POLICY, 5)
        assert sources_with_published(session, POLICY)
        assert load_entries(session, POLICY, [1, 2, 3])
    _assert_indexed(database, statements)


def test_the_archive_reads_through_an_index(database: Database) -> None:
    """The archive's reads: every published article of every feed (one walk per feed), and
    their change marks and dates by id."""
    with database.session() as session, captured_statements(session) as statements:
        feeds = published.every_published(session, POLICY)
        ids = sorted({mark[1] for _, _, marks in feeds for mark in marks})
        assert len(ids) > 5
        assert published.listing_dates(session, ids)
        assert change_marks(session, ids)
        assert published.source_details(session)
    _assert_indexed(database, statements)


def test_selections_with_a_source_opted_out_read_through_an_index(database: Database) -> None:
    """Each walked row's primary source is one probe of the articles' primary key."""
    policy = PublishPolicy(6.0, frozenset({"keep"}), "example.org", opted_out=frozenset({"other"}))
    with database.session() as session, captured_statements(session) as statements:
        assert published_ids(session, policy, 5)
        assert published_ids(session, policy, 5, source="scored")
        assert published_ids(session, policy, 5, source="keep")
        assert published_ids(session, policy, 5, tag="mutual-aid")
        assert group_by_tag(session, policy, 5)
        assert sources_with_published(session, policy)
    _assert_indexed(database, statements)


def test_a_build_reads_through_indexes(database: Database, tmp_path: Path) -> None:
    sources = {
        "scored": {"homepage": "https://scored.example/"},
        "keep": {"homepage": "https://keep.example/", "relevance": "keep_all"},
        "other": {"homepage": "https://other.example/"},
    }
    config = publish_config(tmp_path, database.url, sources, items=5)
    with captured_statements(database.engine) as statements:
        report = write_site(database, config)
    assert report.written
    _assert_indexed(database, statements)


def _problems(session: Session, sql: str, params: Any) -> list[str]:
    return plan_problems(session, sql, params, sorts=True, price_out=True)


def _assert_indexed(database: Database, statements: list[Statement]) -> None:
    assert statements
    with database.session() as session:
        assert_no_table_scans(session, statements, sorts=True, price_out=True)
