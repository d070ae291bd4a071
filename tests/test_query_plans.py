"""Every lookup ingest makes is an index search, on SQLite and PostgreSQL.

A small archive (4,000 articles of about 1 KB on SQLite, 25,000 on PostgreSQL, with random
SimHashes, their sightings, feed rows, bands and block sightings) is enough for both planners to
show their choice: PostgreSQL after ANALYZE (autovacuum's statistics), SQLite both without
statistics (a user's database never runs ANALYZE) and with them. A batch of new articles,
updates, copies and near-copies is stored, and each statement it issued is explained
(tests/plans.py); a full scan of a large table fails the test, since its cost grows with the
archive. The batch is smaller than ingest's 50, to keep the share of the archive it looks up
near what a batch of 50 looks up in an archive of 80,000: in a small archive, PostgreSQL
rightly prefers to read a table whole.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from aggregator.fingerprints import simhash_bands
from aggregator.ingest import Candidate
from aggregator.storage import Database, open_database
from aggregator.storage.articles import save_batch, sightings_matching
from aggregator.storage.models import Base, Source
from tests.candidates import make_candidate
from tests.plans import assert_no_table_scans, captured_statements

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# SQLite plans alike at any size; PostgreSQL weighs sizes (see the docstring).
SQLITE_ARCHIVE = 4_000
POSTGRES_ARCHIVE = 25_000
SOURCES = 4
BATCH = 16
_MASK = (1 << 64) - 1
TABLES = ("articles", "sightings", "article_feeds", "simhash_bands", "block_sightings")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _url(source: int, number: int) -> str:
    return f"https://s{source}.example/posts/{number}"


def _archive_rows(size: int, seed: int) -> dict[str, list[dict[str, object]]]:
    """Rows of an archive of ``size`` articles, one sighting, feed row and two blocks each, by
    table."""
    draw = random.Random(seed)
    rows: dict[str, list[dict[str, object]]] = {table: [] for table in TABLES}
    for number in range(1, size + 1):
        source = number % SOURCES + 1
        simhash = _signed(draw.getrandbits(64))
        rows["articles"].append(
            {"id": number, "canonical_url": _url(source, number), "guid": f"g-{number}",
             "primary_source_id": source, "title": f"Essay {number}", "author": "A. Writer",
             "published_at": NOW - timedelta(hours=number), "date_estimated": False,
             "first_seen_at": NOW, "last_changed_at": NOW, "text": draw.randbytes(500).hex(),
             "html": "<p>w</p>",
             "tags": [], "word_count": 1, "content_hash": f"{number:064x}", "simhash": simhash,
             "matched_terms": {}, "extraction": {}}
        )  # fmt: skip
        rows["sightings"].append(
            {"article_id": number, "source_id": source, "url": _url(source, number),
             "guid": f"g-{number}", "first_seen_at": NOW, "last_seen_at": NOW}
        )  # fmt: skip
        rows["article_feeds"].append(
            {"kind": "source", "key": str(source), "article_id": number,
             "published_at": NOW - timedelta(hours=number), "relevance": None, "label": None}
        )  # fmt: skip
        rows["simhash_bands"].extend(
            {"article_id": number, "band": band, "value": value}
            for band, value in enumerate(simhash_bands(simhash))
        )
        rows["block_sightings"].extend(
            {"source_id": source, "fingerprint": f"{draw.getrandbits(64):016x}",
             "article_id": number, "author": None}
            for _ in range(2)
        )  # fmt: skip
    return rows


@pytest.fixture
def archive(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    postgres = database.url.startswith("postgresql")
    rows = _archive_rows(POSTGRES_ARCHIVE if postgres else SQLITE_ARCHIVE, seed=16)
    with database.session() as session:
        session.execute(
            insert(Source),
            [{"id": n, "name": f"s{n}", "homepage": f"https://s{n}.example/", "enabled": True,
              "created_at": NOW} for n in range(1, SOURCES + 1)],
        )  # fmt: skip
        if postgres:  # no foreign-key trigger per loaded row: the rows agree by construction
            session.execute(text("SET LOCAL session_replication_role = replica"))
        for table in TABLES:
            _fill(session, table, rows[table])
    with database.session() as session:
        if postgres:  # the ids above were given; ANALYZE as autovacuum would
            session.execute(text(f"SELECT setval('articles_id_seq', {len(rows['articles'])})"))
            session.execute(text("ANALYZE"))
    try:
        yield database
    finally:
        database.close()


def _fill(session: Session, table: str, rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` into ``table``: by COPY on PostgreSQL, many times faster than INSERT."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(insert(Base.metadata.tables[table]), rows)
        return
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_plain(row[column]) for column in columns])


def _plain(value: object) -> object:
    return json.dumps(value) if isinstance(value, dict | list) else value


def _candidate(number: int, source: int, simhash: int, **changes: object) -> Candidate:
    return make_candidate(
        content_hash=str(changes.pop("content_hash", f"new-{number}")),
        simhash=simhash,
        when=NOW,
        **{
            "source": f"s{source}",
            "url": _url(source, number),
            "canonical_url": _url(source, number),
            "guid": f"g-{number}",
            "title": f"Essay {number}",
            **changes,
        },
    )


def _batch(session: Session) -> list[tuple[Candidate, int]]:
    """New articles, updates of stored ones, exact copies and near-copies from other sources."""
    draw = random.Random(61)
    query = text("SELECT id, simhash FROM articles")
    stored = {row[0]: row[1] for row in session.execute(query)}
    entries = []
    for slot in range(BATCH):
        number = draw.randrange(1, len(stored) + 1)
        home, other = number % SOURCES + 1, (number + 1) % SOURCES + 1
        if slot % 4 == 0:  # unrelated and new
            fresh = len(stored) + 1 + slot
            entries.append((_candidate(fresh, home, _signed(draw.getrandbits(64))), home))
        elif slot % 4 == 1:  # the same item, rewritten
            changed = _signed((stored[number] ^ 0xFFFF_0000) & _MASK)
            entries.append((_candidate(number, home, changed, content_hash=f"edit-{number}"), home))
        elif slot % 4 == 2:  # the same text elsewhere
            copy = _candidate(number, other, stored[number], content_hash=f"{number:064x}")
            entries.append((copy, other))
        else:  # a near-copy elsewhere, three bits apart
            near = _signed((stored[number] ^ 0b10101) & _MASK)
            entries.append((_candidate(number, other, near, guid=None), other))
    return entries


def test_ingest_lookups_search_indexes_only(archive: Database) -> None:
    """``save_batch`` on a batch of every kind, and a feed's entries matched to sightings."""
    guids = [f"g-{number}" for number in range(1, 80, SOURCES)]
    urls = [_url(2, number) for number in range(81, 160, SOURCES)]
    with archive.session() as session:
        entries = _batch(session)
        with captured_statements(session) as statements:
            saved = save_batch(session, entries, NOW)
            assert sightings_matching(session, 2, guids, urls)
        assert len(saved) == BATCH
        assert len(statements) > 2
        assert_no_table_scans(session, statements)
        _with_statistics(session)
        assert_no_table_scans(session, statements)
        session.rollback()


def _with_statistics(session: Session) -> None:
    """Give SQLite the statistics it plans by after ``ANALYZE`` (PostgreSQL has them already)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("ANALYZE"))


def test_band_probes_read_the_band_index_alone_on_sqlite(archive: Database) -> None:
    """The ``(band, value)`` index holds the article id (bands without rowids, migration 0022):
    a probe's matches are not looked up in the table, one random page each."""
    if archive.url.startswith("postgresql"):
        pytest.skip("SQLite's table layout")
    with archive.session() as session:
        entries = _batch(session)
        with captured_statements(session) as statements:
            save_batch(session, entries, NOW)
        probes = [
            statement for statement in statements if "FROM simhash_bands AS b" in statement.sql
        ]
        assert probes
        for probe in probes:
            plan = session.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {probe.sql}", probe.params
            )
            steps = [row[-1] for row in plan if str(row[-1]).startswith("SEARCH b ")]
            assert steps and all(
                "COVERING INDEX ix_simhash_bands_band_value" in step for step in steps
            ), steps
        session.rollback()
