"""The SQLite search index's segments: each write adds one and merges nothing (migration 0019),
``merge_index`` merges them afterwards without changing what a search finds, and the daemon's
rebuild runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aggregator.config import load_config
from aggregator.daemon.work import rebuild_feeds
from aggregator.search.query import parse_query
from aggregator.storage import Database, open_database
from aggregator.storage.fulltext import FTS_TABLE, merge_index
from aggregator.storage.published import PublishPolicy
from aggregator.storage.search import search
from tests.publish_data import Row, add_sources, insert_rows

POLICY = PublishPolicy(threshold=6.0, keep_all=frozenset(), id_domain="example.org")
WRITES = 40  # transactions, one article each: more than FTS5's crisis merge level (16)
WORDS = ("tenant", "union", "commune", "kitchen", "cooperative")


@pytest.fixture
def written(sqlite_url: str) -> Iterator[Database]:
    database = open_database(sqlite_url)
    add_sources(database, "one")
    for number in range(1, WRITES + 1):
        word = WORDS[number % len(WORDS)]
        insert_rows(database, [Row(id=number, title=f"On the {word}", text=f"A {word} met.")])
    yield database
    database.close()


def segments(database: Database) -> int:
    with database.session() as session:
        sql = f"SELECT count(DISTINCT segid) FROM {FTS_TABLE}_idx"
        return int(session.execute(text(sql)).scalar_one())


def found(database: Database) -> dict[str, list[int]]:
    with database.session() as session:
        return {
            word: sorted(hit.article_id for hit in search(session, parse_query(word), POLICY, 50))
            for word in WORDS
        }


def test_writes_merge_nothing(written: Database) -> None:
    with written.session() as session:
        sql = f"SELECT v FROM {FTS_TABLE}_config WHERE k = 'automerge'"
        assert session.execute(text(sql)).scalar_one() == 0  # FTS5's default is 4
    assert segments(written) > 6


def test_merge_index_merges_the_segments(written: Database) -> None:
    hits = found(written)
    assert all(len(ids) == WRITES // len(WORDS) for ids in hits.values()), hits
    assert merge_index(written) > 0
    assert segments(written) < 4
    assert found(written) == hits
    assert merge_index(written) == 0  # nothing left to merge


def test_the_daemons_rebuild_merges_the_index(written: Database, write_config, tmp_path) -> None:
    path: Path = write_config({"database": {"url": written.url}, "sources": {
        "one": {"feed": "http://127.0.0.1:9/feed/", "homepage": "http://127.0.0.1:9/"},
    }, "output": {"dir": str(tmp_path / "public")}})  # fmt: skip
    result = rebuild_feeds(written, load_config(path, environ={}))
    assert result.counts["search_merges"] > 0, result
    assert segments(written) < 4


def test_merging_is_nothing_on_postgresql(postgres_url: str) -> None:
    database = open_database(postgres_url)
    try:
        assert merge_index(database) == 0
    finally:
        database.close()
