"""Full-text search in storage, on SQLite (FTS5) and PostgreSQL (tsvector): matching, ranking,
filters, only published articles, and the index kept in step with every write."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, update
from sqlalchemy import text as sql

from aggregator.search.marks import MARK_END, MARK_START
from aggregator.search.query import parse_query
from aggregator.storage import Database, open_database
from aggregator.storage.engine import normalise_url
from aggregator.storage.models import Article
from aggregator.storage.published import PublishPolicy
from aggregator.storage.retention import purge_before
from aggregator.storage.search import SearchHit, SearchScope, search
from tests.conftest import POSTGRES_ENV
from tests.publish_data import NOW, Row, add_sources, insert_rows

POLICY = PublishPolicy(threshold=6.0, keep_all=frozenset({"keep"}), id_domain="example.org")
HOUR = timedelta(hours=1)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    add_sources(database, "scored", "keep", "other")
    insert_rows(
        database,
        [
            Row(id=1, title="Tenant unions in Leeds", text="A story of rent strikes and a union."),
            Row(id=2, title="Notes", text="The tenant union met twice; the commune fed everyone."),
            Row(id=3, title="Union of tenants", text="Tenants formed a union.", relevance=1.0),
            Row(id=4, source_id=2, title="Kept", text="A tenant union, kept.", relevance=0.0),
            Row(
                id=5,
                source_id=3,
                title="Kropotkin and the commune",
                author="Élisée Réclus",
                text="Mutual aid is a factor of evolution. The commune of Paris.",
                tags=("History",),
                published_at=NOW - 30 * 24 * HOUR,
            ),
            Row(id=6, title="Food", text="Mutual aid kitchens; aid that is mutual.", tags=()),
        ],
    )
    yield database
    database.close()


def run(
    database: Database, text: str, scope: SearchScope | None = None, limit: int = 20
) -> list[SearchHit]:
    with database.session() as session:
        return search(session, parse_query(text), POLICY, limit, 0, scope)


def ids(database: Database, text: str, **scope: object) -> list[int]:
    return [hit.article_id for hit in run(database, text, SearchScope(**scope))]  # type: ignore[arg-type]


def test_words_match_anywhere_and_stem(database: Database) -> None:
    assert set(ids(database, "tenant union")) == {1, 2, 4}
    assert ids(database, "kropotkin") == [5]
    assert ids(database, "RÉCLUS") == [5]  # the author, case folded
    assert ids(database, "nothingmatchesthis") == []


def test_diacritics_fold_both_ways(database: Database) -> None:
    """Both engines alike: a word without its accents finds it written with them, and a word
    with accents finds it written without; the snippet marks the word as it is written."""
    _skip_where_postgres_lacks_unaccent(database)
    insert_rows(
        database,
        [
            Row(id=7, title="Geography", text="Élisée Réclus wrote of the earth and its people."),
            Row(id=8, title="Plain letters", text="A cafe named after Reclus and Elisee."),
        ],
    )
    assert set(ids(database, "reclus")) == {5, 7, 8}  # 5: the author, 7: the text
    assert set(ids(database, "Réclus")) == {5, 7, 8}
    assert set(ids(database, "elisee reclus")) == {5, 7, 8}
    assert set(ids(database, '"élisée réclus"')) == {5, 7}  # 8 has them the other way round
    assert ids(database, "café") == [8]
    [hit] = [hit for hit in run(database, "elisee") if hit.article_id == 7]
    assert f"{MARK_START}Élisée{MARK_END}" in hit.snippet
    [hit] = run(database, "cafés")
    assert f"{MARK_START}cafe{MARK_END}" in hit.snippet


def _skip_where_postgres_lacks_unaccent(database: Database) -> None:
    """Only a server that cannot have the extension skips; one that has it must fold."""
    if database.engine.dialect.name != "postgresql":
        return
    available = "SELECT count(*) FROM pg_available_extensions WHERE name = 'unaccent'"
    with database.session() as session:
        if not session.execute(sql(available)).scalar_one():
            pytest.skip("this PostgreSQL has no unaccent extension (search keeps diacritics)")


def test_phrases_keep_word_order(database: Database) -> None:
    assert set(ids(database, '"mutual aid"')) == {5, 6}
    assert ids(database, '"aid mutual"') == []
    assert ids(database, '"commune fed everyone"') == [2]


def test_exclusions(database: Database) -> None:
    assert set(ids(database, "tenant -strikes")) == {2, 4}
    assert ids(database, 'aid -"factor of evolution"') == [6]


def test_title_ranks_above_text(database: Database) -> None:
    hits = run(database, "commune")
    assert [hit.article_id for hit in hits] == [5, 2]
    assert hits[0].rank > hits[1].rank


def test_only_published_unless_asked(database: Database) -> None:
    assert 3 not in ids(database, "tenants")
    assert 4 in ids(database, "tenant")  # seen at a keep_all source
    assert 3 in ids(database, "tenants", published_only=False)


def test_source_tag_and_since_filters(database: Database) -> None:
    assert ids(database, "tenant source:keep") == [4]
    assert ids(database, "tenant", source="keep") == [4]
    assert ids(database, "commune tag:history") == [5]
    assert ids(database, 'commune tag:"HISTORY"') == [5]
    assert ids(database, "commune", since=NOW - 48 * HOUR) == [2]
    assert ids(database, "tenant source:nosuchsource") == []


def test_newest_first_order_and_paging(database: Database) -> None:
    assert ids(database, "tenant", order="newest") == [1, 2, 4]
    with database.session() as session:
        query = parse_query("tenant")
        pages = [search(session, query, POLICY, 2, offset) for offset in (0, 2, 4)]
    assert [len(page) for page in pages] == [2, 1, 0]
    assert {hit.article_id for page in pages for hit in page} == {1, 2, 4}


def test_snippets_mark_the_matches(database: Database) -> None:
    [hit] = run(database, '"mutual aid" factor')
    assert f"{MARK_START}factor{MARK_END}" in hit.snippet
    assert hit.snippet.replace(MARK_START, "").replace(MARK_END, "").startswith("Mutual aid is")


def test_index_follows_updates_deletes_and_purges(database: Database) -> None:
    with database.session() as session:  # as re-extraction rewrites an article
        article = session.get(Article, 6)
        assert article is not None
        article.text = "Soup and solidarity."
    assert ids(database, "kitchens") == []
    assert ids(database, "solidarity") == [6]
    with database.session() as session:
        session.execute(update(Article).where(Article.id == 1).values(title="Rent strike"))
    assert ids(database, "leeds") == []
    assert ids(database, "rent strike") == [1]
    with database.session() as session:
        session.execute(delete(Article).where(Article.id == 2))
    assert ids(database, "commune") == [5]
    purged = purge_before(database, NOW - 7 * 24 * HOUR, NOW)
    assert purged == 1
    assert ids(database, "commune", published_only=False) == []


def test_hostile_text_is_only_ever_words(database: Database) -> None:
    for text in ["NEAR(tenant union)", "tenant*", "^tenant", 'title:tenant"', "a OR b"]:
        try:
            query = parse_query(text)
        except Exception:
            continue
        with database.session() as session:
            search(session, query, POLICY, 5)  # no engine syntax error


def test_the_migration_goes_down_and_up_and_indexes_what_is_there(database: Database) -> None:
    from alembic import command

    from aggregator.storage import migrate
    from aggregator.storage.engine import WRITE_OPTION

    config = migrate.alembic_config()
    writer = database.engine.execution_options(**{WRITE_OPTION: True})
    with writer.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0018-1")
    with database.session() as session:  # written while there is no index
        session.execute(update(Article).where(Article.id == 6).values(title="Bread and roses"))
    migrate.upgrade(database.engine)
    assert ids(database, "roses") == [6]
    assert set(ids(database, "tenant union")) == {1, 2, 4}


def test_searches_read_the_index_not_every_article(database: Database) -> None:
    from tests.plans import assert_no_table_scans, captured_statements

    with database.session() as session, captured_statements(session) as statements:
        for text in ("tenant union -strikes source:keep", '"mutual aid" tag:history'):
            search(session, parse_query(text), POLICY, 20)
        search(session, parse_query("commune"), POLICY, 20, 0, SearchScope(order="newest"))
    assert len(statements) >= 4  # the matches, then the snippets of those found
    with database.session() as session:
        assert_no_table_scans(session, statements, price_out=True)


def test_a_source_that_opted_out_lists_nothing(database: Database) -> None:
    """Not even what was seen there and is published by another source's right."""
    insert_rows(
        database,
        [
            Row(
                id=7,
                title="Zebra",
                text="Zebra crossings.",
                also_seen=((3, "https://o.example/7"),),
            )
        ],
    )
    opted = PublishPolicy(6.0, frozenset({"keep"}), "example.org", opted_out=frozenset({"other"}))
    with database.session() as session:
        query = parse_query("zebra source:other")
        assert [hit.article_id for hit in search(session, query, POLICY, 20, 0)] == [7]
        assert search(session, query, opted, 20, 0) == []
        assert [hit.article_id for hit in search(session, parse_query("zebra"), opted, 20, 0)] == [
            7
        ]


@pytest.mark.postgres
def test_a_role_that_cannot_create_unaccent_still_migrates_without_folding(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database without the extension, migrated by a role without CREATE on it (which a
    trusted extension needs): the configuration is plain English, said with a warning."""
    with _database_of_a_plain_role() as url:
        with caplog.at_level(logging.WARNING, "aggregator.storage.migrate"):
            database = open_database(url)
        try:
            add_sources(database, "scored")
            insert_rows(database, [Row(id=1, title="Geography", text="Élisée Réclus wrote.")])
            assert ids(database, "Réclus") == [1]
            assert ids(database, "reclus") == []
        finally:
            database.close()
    assert "search keeps diacritics" in caplog.text


@contextmanager
def _database_of_a_plain_role() -> Iterator[str]:
    """A fresh database and a login role of the same name, owning only its own schema there."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    url = normalise_url(base).set(username=name, password=None, database=name)
    try:
        with admin.connect() as connection:
            connection.execute(sql(f'CREATE ROLE "{name}" LOGIN'))
            connection.execute(sql(f'CREATE DATABASE "{name}"'))
        inside = create_engine(url.set(username=admin.url.username), isolation_level="AUTOCOMMIT")
        with inside.connect() as connection:  # "$user" comes first in the default search_path
            connection.execute(sql(f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"'))
        inside.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sql(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()
